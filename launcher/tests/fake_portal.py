#!/usr/bin/python3
"""A stand-in for xdg-desktop-portal's ScreenCast, for the launcher's Wayland test.

It owns org.freedesktop.portal.Desktop on the bus in DBUS_SESSION_BUS_ADDRESS and answers as
a desktop whose person picks the screen at once (or cancels, with --start-response 1). The
screen is a PipeWire node that already exists (--node-name): Start reports it, and
OpenPipeWireRemote hands out a fresh connection to the PipeWire socket, as the real portal
does. Without a session manager nothing would link the capture to that node, so this script
also plays that part: it links the node to the stream that asks for it (node.target).

Each call is logged as one JSON line (--log). SIGUSR1 closes every session, as when the
person stops sharing from the desktop's own controls.

Needs the Debian packages python3-dbus and python3-gi; run it with /usr/bin/python3.
"""

import argparse
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.freedesktop.portal.Desktop"
OBJECT_PATH = "/org/freedesktop/portal/desktop"
SCREENCAST = "org.freedesktop.portal.ScreenCast"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, **entry):
        with self.lock, open(self.path, "a") as log:
            log.write(json.dumps(entry) + "\n")


def sender_element(sender):
    return sender.lstrip(":").replace(".", "_")


def pipewire_objects():
    output = subprocess.run(["pw-dump"], capture_output=True, text=True, timeout=5).stdout
    # pw-dump prints a second array when the graph changes while it dumps: the first will do.
    objects, _ = json.JSONDecoder().raw_decode(output.strip() or "[]")
    return objects


def find_node(name, limit=5.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for entry in pipewire_objects():
            props = (entry.get("info") or {}).get("props") or {}
            if entry["type"].endswith(":Node") and props.get("node.name") == name:
                return entry["id"]
        time.sleep(0.1)
    raise RuntimeError(f"no PipeWire node called {name}")


def ports_of(objects, node_id, direction):
    return [
        entry["id"]
        for entry in objects
        if entry["type"].endswith(":Port")
        and entry["info"]["props"].get("node.id") == node_id
        and entry["info"]["props"].get("port.direction") == direction
    ]


def link_when_asked(node_id, log, limit=30.0):
    """What a session manager does: links the node to the stream that targets it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            objects = pipewire_objects()
        except (subprocess.SubprocessError, ValueError) as error:
            log.write(call="pw-dump-failed", error=str(error))
            time.sleep(0.1)
            continue
        for entry in objects:
            props = (entry.get("info") or {}).get("props") or {}
            if (
                entry["type"].endswith(":Node")
                and props.get("media.class") == "Stream/Input/Video"
                and str(props.get("node.target")) == str(node_id)
            ):
                outputs = ports_of(objects, node_id, "out")
                inputs = ports_of(objects, entry["id"], "in")
                if outputs and inputs:
                    subprocess.run(["pw-link", str(outputs[0]), str(inputs[0])], check=True)
                    log.write(call="linked", node=node_id, stream=entry["id"])
                    return
        time.sleep(0.1)
    log.write(call="nothing-to-link", node=node_id)


class Request(dbus.service.Object):
    @dbus.service.signal(REQUEST, signature="ua{sv}")
    def Response(self, code, results):
        pass

    @dbus.service.method(REQUEST, in_signature="", out_signature="")
    def Close(self):
        self.remove_from_connection()


class Session(dbus.service.Object):
    def __init__(self, bus, path, log):
        super().__init__(bus, path)
        self.path = path
        self.log = log
        self.persist = False
        self.open = True

    @dbus.service.method(SESSION, in_signature="", out_signature="")
    def Close(self):
        self.log.write(call="Session.Close", session=self.path)
        self.open = False
        self.remove_from_connection()

    @dbus.service.signal(SESSION, signature="a{sv}")
    def Closed(self, details):
        pass


class ScreenCast(dbus.service.Object):
    def __init__(self, bus, args, log):
        super().__init__(bus, OBJECT_PATH)
        self.bus = bus
        self.args = args
        self.log = log
        self.sessions = {}
        self.restore_tokens = 0

    def respond(self, sender, options, code, results):
        """Answers on the request path the caller predicted, once this call has returned."""
        path = f"{OBJECT_PATH}/request/{sender_element(sender)}/{options['handle_token']}"
        request = Request(self.bus, path)

        def emit():
            request.Response(dbus.UInt32(code), dbus.Dictionary(results, signature="sv"))
            request.remove_from_connection()
            return False

        GLib.idle_add(emit)
        return dbus.ObjectPath(path)

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self.GetAll(interface)[name]

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != SCREENCAST:
            return dbus.Dictionary({}, signature="sv")
        return dbus.Dictionary(
            {
                "AvailableSourceTypes": dbus.UInt32(1 | 2),
                "AvailableCursorModes": dbus.UInt32(1 | 2),
                "version": dbus.UInt32(self.args.version),
            },
            signature="sv",
        )

    @dbus.service.method(SCREENCAST, in_signature="a{sv}", out_signature="o", sender_keyword="sender")
    def CreateSession(self, options, sender=None):
        self.log.write(call="CreateSession", options=options)
        path = f"{OBJECT_PATH}/session/{sender_element(sender)}/{options['session_handle_token']}"
        self.sessions[path] = Session(self.bus, path, self.log)
        return self.respond(sender, options, 0, {"session_handle": dbus.String(path)})

    @dbus.service.method(SCREENCAST, in_signature="oa{sv}", out_signature="o", sender_keyword="sender")
    def SelectSources(self, session, options, sender=None):
        self.log.write(call="SelectSources", session=session, options=options)
        self.sessions[session].persist = "persist_mode" in options
        return self.respond(sender, options, 0, {})

    @dbus.service.method(SCREENCAST, in_signature="osa{sv}", out_signature="o", sender_keyword="sender")
    def Start(self, session, parent_window, options, sender=None):
        self.log.write(call="Start", session=session, parent_window=parent_window)
        if self.args.start_response != 0:
            return self.respond(sender, options, self.args.start_response, {})
        node = find_node(self.args.node_name)
        width, height = (int(v) for v in self.args.size.split("x"))
        stream = dbus.Struct(
            (
                dbus.UInt32(node),
                dbus.Dictionary(
                    {
                        "size": dbus.Struct((dbus.Int32(width), dbus.Int32(height))),
                        "source_type": dbus.UInt32(1),
                    },
                    signature="sv",
                ),
            )
        )
        results = {"streams": dbus.Array([stream], signature="(ua{sv})")}
        if self.sessions[session].persist:
            self.restore_tokens += 1
            results["restore_token"] = dbus.String(f"fake-restore-token-{self.restore_tokens}")
        threading.Thread(target=link_when_asked, args=(node, self.log), daemon=True).start()
        return self.respond(sender, options, 0, results)

    @dbus.service.method(SCREENCAST, in_signature="oa{sv}", out_signature="h")
    def OpenPipeWireRemote(self, session, options):
        self.log.write(call="OpenPipeWireRemote", session=session)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.args.pipewire_socket)
        # UnixFd keeps a duplicate: ours can go.
        handed_out = dbus.types.UnixFd(connection)
        connection.close()
        return handed_out

    def close_all_sessions(self):
        for session in self.sessions.values():
            if session.open:
                self.log.write(call="Session.Closed", session=session.path)
                session.Closed(dbus.Dictionary({}, signature="sv"))
        return GLib.SOURCE_CONTINUE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipewire-socket", required=True)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--start-response", type=int, default=0)
    parser.add_argument("--version", type=int, default=4)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    log = Log(args.log)
    portal = ScreenCast(bus, args, log)
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, portal.close_all_sessions)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop_quit)
    print("ready", flush=True)
    LOOP.run()
    del name


def loop_quit():
    LOOP.quit()
    return GLib.SOURCE_REMOVE


LOOP = GLib.MainLoop()

if __name__ == "__main__":
    sys.exit(main())
