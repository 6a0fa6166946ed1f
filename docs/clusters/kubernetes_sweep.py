"""Run a sweep on Kubernetes with the Dask Kubernetes operator (docs/sweeps.md, section 7).

This process is the sweep's client: it creates a ``DaskCluster`` resource (a scheduler pod and
``--workers`` worker pods of the image ``--image``) through ``dask_kubernetes.operator.KubeCluster``,
waits for the workers, checks them, runs the sweep and writes every result into ``--out``
itself, then deletes the cluster. Rerun the same command to resume: only the runs with no file
in ``--out`` are run.

What must be true:

- the Dask operator is installed in the Kubernetes cluster (once, by an administrator)::

      helm install --repo https://helm.dask.org --create-namespace -n dask-operator \\
          --generate-name dask-kubernetes-operator

- ``kubectl`` works from here (KubeCluster reads ``~/.kube/config``) and ``pip install
  dask-kubernetes`` has been run in this environment (it is not a dependency of the package);
- ``--image`` holds this repository's code installed with the same Python as here (the
  sweep sends each run's configuration with the task, so the workers read no scenario file).
  ``Dockerfile`` beside this script builds one::

      docker build -f docs/clusters/Dockerfile \\
          --build-arg PYTHON_VERSION=$(python -c 'import platform; print(platform.python_version())') \\
          -t registry.example.org/credit-contagion:$(git describe --always --dirty) .
      docker push registry.example.org/credit-contagion:$(git describe --always --dirty)

Then, for example (40 single-core workers)::

    .venv/bin/python docs/clusters/kubernetes_sweep.py tipping_point_sweep \\
        --image registry.example.org/credit-contagion:61aa44f --workers 40 --memory 1Gi

When this process runs outside the Kubernetes cluster, KubeCluster forwards the scheduler's
port to this machine; inside it (a pod of the same image, say), it connects directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))   # common.py beside this file

import common  # noqa: E402

# one BLAS/OpenMP thread per process, and no statistical profiler in the workers (it samples the
# running run every 10 ms: about 5% of its time, docs/performance.md)
THREADS_1 = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_sweep_arguments(parser)
    k8s = parser.add_argument_group("Kubernetes (dask_kubernetes.operator.KubeCluster)")
    k8s.add_argument("--image", required=True, help="container image with this repository installed (Dockerfile)")
    k8s.add_argument("--name", default="sim-sweep", help="name of the DaskCluster resource (default sim-sweep)")
    k8s.add_argument("--namespace", help="Kubernetes namespace (default: the current context's)")
    k8s.add_argument("--workers", type=int, default=8, help="worker pods, one run at a time each (default 8)")
    k8s.add_argument("--cpu", default="1", help="CPU request and limit of a worker pod (default 1)")
    k8s.add_argument("--memory", default="1Gi",
                     help="memory request and limit of a worker pod, also its Dask memory limit (default 1Gi; "
                          "docs/sweeps.md section 8 sizes it)")
    k8s.add_argument("--scheduler-memory", default="2Gi", help="memory of the scheduler pod (default 2Gi)")
    args = parser.parse_args()

    try:
        from dask_kubernetes.operator import KubeCluster, make_cluster_spec
    except ImportError:
        sys.exit("dask-kubernetes is not installed: pip install dask-kubernetes (it is not a dependency of "
                 "the package)")

    common.read_spec(args)   # a malformed sweep file stops here, before any pod is created
    spec = make_cluster_spec(name=args.name, image=args.image, n_workers=args.workers, env=THREADS_1)
    worker = spec["spec"]["worker"]["spec"]["containers"][0]
    # one single-threaded worker process per pod, its Dask memory limit the pod's
    worker["args"] = ["dask", "worker", "--nthreads", "1", "--nworkers", "1", "--memory-limit", args.memory,
                      "--name", "$(DASK_WORKER_NAME)", "--dashboard", "--dashboard-address", "8788"]
    worker["resources"] = {"requests": {"cpu": args.cpu, "memory": args.memory},
                           "limits": {"cpu": args.cpu, "memory": args.memory}}
    scheduler = spec["spec"]["scheduler"]["spec"]["containers"][0]
    scheduler["args"] = ["dask", "scheduler", "--host", "0.0.0.0"]
    scheduler["resources"] = {"requests": {"cpu": "1", "memory": args.scheduler_memory},
                              "limits": {"memory": args.scheduler_memory}}

    cluster = KubeCluster(custom_cluster_spec=spec, namespace=args.namespace, resource_timeout=300)
    try:
        return common.run(args, cluster, expected_workers=args.workers)
    finally:
        cluster.close()   # deletes the DaskCluster resource and its pods


if __name__ == "__main__":
    sys.exit(main())
