"""``--help`` as a user reads it: no Python types where a flag takes no value, a plain usage line.

Typer shows every parameter's Python type: ``<bool>`` beside each on/off flag (which takes no
value, so the type says nothing) and ``<list[str]>`` beside the inputs, and writes a required
argument as ``{paths}...`` in the usage line, where braces read as a set of choices. The command
and group classes here show ``nl2en translate [OPTIONS] PATHS...`` and leave the type column
empty for flags and arguments (their help text says what they take). :func:`tidy_help` applies
them to a Typer app and every command and group under it, so no command module has to remember.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    """An argument shown as ``PATHS...`` (required) or ``[PATH]`` (optional), with no Python type."""

    def _usage_display_name(self) -> str:
        name = (self.metavar or self.name or "arg").upper()
        name += "..." if self.nargs != 1 else ""
        return name if self.required else f"[{name}]"

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class _Option(TyperOption):
    """An option whose type column is empty when it is an on/off flag (it takes no value)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else super().display_type_rich(ctx)


def _tidy(params: list[Any]) -> list[Any]:
    """The same parameter objects, shown the tidy way (their parsing is untouched)."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class Nl2enCommand(TyperCommand):
    """A command whose help shows flags without ``<bool>`` and arguments without braces or Python types."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))


class Nl2enGroup(TyperGroup):
    """A group (``nl2en``, ``nl2en models``…) whose own options are shown the same way."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))


def tidy_help(app: typer.Typer) -> typer.Typer:
    """Use :class:`Nl2enCommand` and :class:`Nl2enGroup` for ``app`` and everything registered under it."""
    if _plain(app.info.cls, TyperGroup):
        app.info.cls = Nl2enGroup
    for command in app.registered_commands:
        if _plain(command.cls, TyperCommand):
            command.cls = Nl2enCommand
    for group in app.registered_groups:
        if _plain(group.cls, TyperGroup):
            group.cls = Nl2enGroup
        if group.typer_instance is not None:
            tidy_help(group.typer_instance)
    return app


def _plain(cls: Any, default: type) -> bool:
    """Typer's own class, or none chosen (Typer keeps an unset choice as a falsy placeholder)."""
    return not cls or cls is default
