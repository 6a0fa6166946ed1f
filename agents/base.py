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


class ViewAgent(mesa.Agent):
    """A Mesa agent whose state lives in the model's arrays at row ``index``."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index})"
