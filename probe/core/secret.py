"""A value that must never be shown: passwords, proxy credentials.

Wrapping them means a Plan, an exception or a debug print can carry them
without leaking: `repr` and `str` show only asterisks, and the real value is
read with `reveal()` at the one place that sends it on the wire.
"""

from __future__ import annotations


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)
