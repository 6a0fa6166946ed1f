"""The Solara app (``sim app``): watch contagion along the supply chain as it happens.

:mod:`sim.app.state` builds what the app runs, :mod:`sim.app.views` turns a model into
pictures (ECharts options), :mod:`sim.app.page` lays out the page on Mesa's ``SolaraViz`` and
:mod:`sim.app.compare_view` runs a strategy against its absence.
"""
