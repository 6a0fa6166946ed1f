"""Thin-view agents: attributes that read and write a row of a numpy store."""

from __future__ import annotations

import mesa


class Column:
    """Descriptor: ``agent.<name>`` is ``agent.model.<store>.<name>[agent.index]``."""

    def __init__(self, store: str, doc: str = ""):
        self.store = store
        self.__doc__ = doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        value = getattr(getattr(agent.model, self.store), self.name)[agent.index]
        return value.item() if hasattr(value, "item") else value

    def __set__(self, agent, value):
        getattr(getattr(agent.model, self.store), self.name)[agent.index] = value


class RowRemovalError(RuntimeError):
    """``remove()`` on an agent that is a view of a row: rows are never removed."""


class ViewAgent(mesa.Agent):
    """A Mesa agent whose state lives in the model's arrays at row ``index``.

    Agents are views: the vectorised phases of the day simulate every row whether or not its
    view exists, so a view cannot be removed alone (:meth:`remove` raises).
    """

    #: how an agent of this type leaves the economy instead (for :meth:`remove`'s message)
    leaves = "it stays in the population; the model's rules change its state"

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    def remove(self) -> None:
        """Refused with :class:`RowRemovalError`: removing the view would leave its row simulated
        (the model's state and its agent set would disagree). Agents leave the economy through
        the model's rules instead: a merchant fails (``model.supply.force_failure(i)``, or a
        ``supplier_failure`` shock) and stays on its cell as a failed node; a consumer loses a
        job or an account but stays in the population."""
        raise RowRemovalError(
            f"{self!r} is a view of row {self.index} of the model's arrays and cannot be removed: the row would "
            f"go on being simulated. Instead: {self.leaves.format(index=self.index)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index})"
