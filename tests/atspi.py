"""Reading an application's accessibility tree over AT-SPI, as Orca does: roles and names, over D-Bus.

The session bus activates the accessibility bus (`org.a11y.Bus`, at-spi2-core's
`at-spi-bus-launcher`); applications register their root there with the registry. Walking
it needs no client library beyond `jeepney`: `GetChildren`, `GetRoleName` and the `Name`
property of `org.a11y.atspi.Accessible`, one call each.
"""

from __future__ import annotations

from dataclasses import dataclass

from jeepney import DBusAddress, MessageType, Properties, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

ACCESSIBLE = "org.a11y.atspi.Accessible"
REGISTRY_ROOT = ("org.a11y.atspi.Registry", "/org/a11y/atspi/accessible/root")
INTERACTIVE = {
    "push button",
    "toggle button",
    "check box",
    "radio button",
    "combo box",
    "text",
    "entry",
    "password text",
    "spin button",
    "slider",
    "list",
    "table",
    "tree",
    "menu item",
    "check menu item",
    "radio menu item",
}


LABELLED_BY = 2  # AT-SPI's RELATION_LABELLED_BY


@dataclass(frozen=True)
class Node:
    """One accessible object: its role as AT-SPI names it, its name, its labels, and how deep it sits.

    Qt names a combo box by its current choice and ties it to its label by a "labelled by"
    relation; a screen reader says both ("Speak with: combo box, Both").
    """

    role: str
    name: str
    depth: int
    labels: tuple[str, ...] = ()
    description: str = ""

    @property
    def spoken_name(self) -> str:
        """What a screen reader says it is called: its label, else its own name."""
        return " ".join(self.labels) or self.name


class AtSpi:
    """A connection to the accessibility bus of the session at `session_address`."""

    def __init__(self, session_address: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        session = open_dbus_connection(bus=session_address)
        try:
            bus = DBusAddress("/org/a11y/bus", bus_name="org.a11y.Bus", interface="org.a11y.Bus")
            (address,) = self._call(session, new_method_call(bus, "GetAddress"))
        finally:
            session.close()
        self.connection = open_dbus_connection(bus=address)

    def _call(self, connection: DBusConnection, message: object) -> tuple[object, ...]:
        reply = connection.send_and_get_reply(message, timeout=self.timeout)
        if reply.header.message_type == MessageType.error:
            raise RuntimeError(f"AT-SPI refused: {reply.body}")
        return tuple(reply.body)

    def _accessible(self, bus_name: str, path: str) -> DBusAddress:
        return DBusAddress(path, bus_name=bus_name, interface=ACCESSIBLE)

    def _ask(self, bus_name: str, path: str, method: str) -> tuple[object, ...]:
        return self._call(self.connection, new_method_call(self._accessible(bus_name, path), method))

    def children(self, bus_name: str, path: str) -> list[tuple[str, str]]:
        """The (bus name, path) of each child."""
        (found,) = self._call(
            self.connection, new_method_call(self._accessible(bus_name, path), "GetChildren")
        )
        return [(str(b), str(p)) for b, p in found]  # type: ignore[attr-defined]

    def role(self, bus_name: str, path: str) -> str:
        """Its role's name ("push button", "combo box", …)."""
        (name,) = self._call(
            self.connection, new_method_call(self._accessible(bus_name, path), "GetRoleName")
        )
        return str(name)

    def name(self, bus_name: str, path: str) -> str:
        """Its accessible name."""
        message = Properties(self._accessible(bus_name, path)).get("Name")
        ((_signature, value),) = self._call(self.connection, message)  # type: ignore[misc]
        return str(value)

    def description(self, bus_name: str, path: str) -> str:
        """Its accessible description."""
        message = Properties(self._accessible(bus_name, path)).get("Description")
        ((_signature, value),) = self._call(self.connection, message)  # type: ignore[misc]
        return str(value)

    def labels(self, bus_name: str, path: str) -> tuple[str, ...]:
        """The names of the objects that label it (the "labelled by" relation)."""
        (relations,) = self._ask(bus_name, path, "GetRelationSet")
        return tuple(
            self.name(*target).strip()
            for kind, targets in relations  # type: ignore[attr-defined]
            if kind == LABELLED_BY
            for target in targets
        )

    def applications(self) -> dict[str, tuple[str, str]]:
        """The registered applications, by name."""
        return {self.name(*app): app for app in self.children(*REGISTRY_ROOT)}

    def tree(self, root: tuple[str, str], limit: int = 5000) -> list[Node]:
        """Every object under `root`, depth first (at most `limit`)."""
        found: list[Node] = []
        stack = [(root, 0)]
        while stack and len(found) < limit:
            (bus_name, path), depth = stack.pop()
            role = self.role(bus_name, path)
            labels = self.labels(bus_name, path) if role in INTERACTIVE else ()
            description = self.description(bus_name, path) if role in INTERACTIVE else ""
            found.append(Node(role, self.name(bus_name, path).strip(), depth, labels, description))
            stack.extend((child, depth + 1) for child in reversed(self.children(bus_name, path)))
        return found

    def close(self) -> None:
        """Let go of the accessibility bus."""
        self.connection.close()
