"""The Poezio plugin ``otr4``: OTRv4 over XMPP in the Poezio console client.

Installed with the ``poezio`` extra (``pip install otrv4-xmpp[poezio]``) and
registered in the ``poezio_plugins`` entry-point group, so that ``/load otr4``
finds it.  It is a :class:`poezio.plugin_e2ee.E2EEPlugin` over the slixmpp plugin
``xep_otr4`` (:mod:`otrv4_xmpp.slixmpp_plugin`), which it registers on Poezio's
own XMPP stream:

* ``/otr4`` in a conversation tab switches OTRv4 on or off for that contact (the
  status bar then shows ``OTRv4`` with the contact's trust: ``verified``,
  ``trusted``, ``unverified``, or ``no session`` before the first DAKE);
* outgoing messages of such a tab go through :meth:`XEP_OTR4.send_message
  <otrv4_xmpp.slixmpp_plugin.plugin.XEP_OTR4.send_message>` (every device of the
  contact and of the own account, interactive DAKEs first with online devices),
  and Poezio's plaintext stanza is dropped;
* decrypted messages are shown in the contact's tab; the stanza's fallback body is not;
* ``/otr4_devices [jid]``, ``/otr4_trusted``, ``/otr4_verified``,
  ``/otr4_distrusted <fingerprint or instance tag>``, ``/otr4_smp <secret>
  [question]``, ``/otr4_answer <secret>``, ``/otr4_abort``, ``/otr4_end``.

State lives in Poezio's data folder, ``otr4/<account>/device.sqlite``: the device
store (:mod:`otrv4_xmpp.state`) with the identity, the sessions, the prekey secrets
and the trust decisions, so a restarted Poezio resumes its conversations.  Every
failure is one line in the tab or the information buffer, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from poezio.plugin_e2ee import E2EEPlugin, NothingToEncrypt
from poezio.tabs import ChatTab, ConversationTab, DynamicConversationTab, StaticConversationTab
from poezio.xdg import DATA_HOME
from slixmpp import JID
from slixmpp.stanza import Message

from otrv4.clock import SystemClock
from otrv4.errors import OTRError
from otrv4.smp import SmpOutcome

from . import slixmpp_plugin
from .namespaces import NS_OTR4
from .slixmpp_plugin.errors import NoRecipientsError
from .slixmpp_plugin.events import Otr4Error, Otr4Message, Otr4Session, Otr4Smp
from .slixmpp_plugin.plugin import XEP_OTR4
from .trust import DeviceInfo, TrustLevel

__all__ = ["Plugin"]

_LEVELS = {"trusted": TrustLevel.TRUSTED, "verified": TrustLevel.VERIFIED,
           "distrusted": TrustLevel.DISTRUSTED}
_STATUS = {TrustLevel.VERIFIED: "verified", TrustLevel.TRUSTED: "trusted",
           TrustLevel.UNDECIDED: "unverified", TrustLevel.DISTRUSTED: "distrusted"}


class _SentByOtr4(Exception):
    """Poezio's stanza went out as OTRv4 messages: drop the plaintext one."""


def _device_line(d: DeviceInfo) -> str:
    who = "this device" if d.own else d.trust.value
    return f"{d.account} {d.tag:08x} [{who}] {d.fingerprint}"


class Plugin(E2EEPlugin):
    """``/load otr4``: OTRv4 over XMPP for Poezio (see the module documentation)."""

    encryption_name = "OTRv4"
    encryption_short_name = "otr4"
    eme_ns = NS_OTR4
    encrypted_tags = [(NS_OTR4, "otr")]  # noqa: RUF012  (as Poezio declares it)
    replace_body_with_eme = False
    stanza_encryption = False
    supported_tab_types = (DynamicConversationTab, StaticConversationTab, ConversationTab)
    trust_states = {  # noqa: RUF012  (as Poezio declares it)
        "accepted": {"trusted", "verified"}, "rejected": {"distrusted"}}

    def init(self) -> None:
        super().init()
        xmpp = self.core.xmpp
        folder = Path(DATA_HOME) / "otr4" / xmpp.boundjid.bare
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        xmpp.register_plugin("xep_otr4", module=slixmpp_plugin, pconfig={
            "clock": SystemClock(), "label": "poezio", "store": str(folder / "device.sqlite")})
        self.otr = cast(XEP_OTR4, xmpp.plugin["xep_otr4"])  # type: ignore[typeddict-item]
        self._asked: dict[str, int] = {}
        events: tuple[tuple[str, Callable[..., Any]], ...] = (
            ("otr4_message", self._on_message),
            ("otr4_smp", self._on_smp), ("otr4_error", self._on_error),
            ("otr4_session_started", self._on_started), ("otr4_session_ended", self._on_ended))
        for event, on_event in events:
            self.api.add_slix_event_handler(event, on_event)
        for name, handler, usage, short in (
                ("otr4_devices", self._cmd_devices, "[jid]",
                 "List OTRv4 devices with fingerprints, trust and last seen"),
                ("otr4_smp", self._cmd_smp, "<secret> [question]",
                 "Verify the contact with the Socialist Millionaires' Protocol"),
                ("otr4_answer", self._cmd_answer, "<secret>", "Answer the contact's SMP"),
                ("otr4_abort", self._cmd_abort, "", "Abort SMP"),
                ("otr4_end", self._cmd_end, "", "End the OTRv4 sessions with the contact")):
            for tab_t in self.supported_tab_types:
                self.api.add_tab_command(tab_t, name, handler, usage=usage, short=short,
                                         help=short)
        self.api.add_command("otr4_devices", self._cmd_devices, usage="[jid]",
                             short="List OTRv4 devices", help="List OTRv4 devices")
        if getattr(xmpp, "sessionstarted", False):
            self.core.register_task(self._start())

    async def _start(self) -> None:
        # loaded into a running session: the presence that came before is in the roster
        roster = self.core.xmpp.client_roster
        for bare in list(roster):
            for resource in roster[bare].resources:
                self.otr.online.setdefault(str(bare), set()).add(f"{bare}/{resource}")
        await self.otr.start()

    def cleanup(self) -> None:
        super().cleanup()
        self.core.xmpp.plugin.disable("xep_otr4")  # type: ignore[attr-defined]

    # -- display ----------------------------------------------------------------------------

    def _say(self, jid: str, text: str) -> None:
        """One line in the conversation tab of ``jid`` (or the information buffer)."""
        tab = self.core.get_conversation_by_jid(JID(jid), create=False)
        if tab is not None:
            tab.add_message(_info(text))
            self.core.refresh_window()
        else:
            self.api.information(text, "Info")

    def _fail(self, text: str) -> None:
        self.api.information(f"OTRv4: {text}", "Error")

    def _display_encryption_status(self, jid_s: str) -> str:
        try:
            jid = JID(jid_s)
        except ValueError:
            return ""
        if not (self._encryption_enabled(jid) or self._encryption_enabled(JID(jid.bare))):
            return ""  # a dynamic tab passes the full JID it is locked to
        tags = self.otr.session_devices(jid.bare)
        if not tags:
            return " OTRv4: no session"
        levels = {self.otr.trust_level(jid.bare, t) for t in tags}
        worst = next(lvl for lvl in (TrustLevel.DISTRUSTED, TrustLevel.UNDECIDED,
                                     TrustLevel.TRUSTED, TrustLevel.VERIFIED) if lvl in levels)
        return f" OTRv4: {_STATUS[worst]}"

    def _toggle_tab(self, _input: str) -> None:
        super()._toggle_tab(_input)
        self.core.refresh_window()  # the status bar shows the change at once

    async def _on_message(self, m: Otr4Message) -> None:
        own = str(self.core.xmpp.boundjid)
        msg = self.core.xmpp.make_message(
            mto=m.to if m.outgoing else own, mfrom=m.sender if not m.outgoing else own,
            mbody=m.text, mtype="chat")
        if m.stanza_id:
            msg["id"] = f"otr4-{m.stanza_id}-{m.sender_tag:08x}"
        await self.core.handler.on_normal_message(msg)

    def _on_smp(self, u: Otr4Smp) -> None:
        who = f"{u.peer} ({u.tag:08x})"
        if u.outcome is SmpOutcome.QUESTION:
            self._asked[u.peer] = u.tag
            q = f' asks: "{u.question}"' if u.question else " started SMP without a question"
            self._say(u.peer, f"OTRv4: {who}{q}; answer with /otr4_answer <secret>")
        elif u.outcome is SmpOutcome.SUCCEEDED:
            self._say(u.peer, f"OTRv4: SMP succeeded, {who} is verified")
        elif u.outcome is SmpOutcome.FAILED:
            self._say(u.peer, f"OTRv4: SMP failed with {who}: the secrets differ")
        elif u.outcome is SmpOutcome.ABORTED:
            self._say(u.peer, f"OTRv4: SMP with {who} was aborted")
        self.core.refresh_window()

    def _on_error(self, e: Otr4Error) -> None:
        self._fail(f"{e.sender}: {e.reason}".replace("\n", " "))

    def _on_started(self, s: Otr4Session) -> None:
        self._say(s.peer, f"OTRv4: session with {s.peer} device {s.tag:08x} "
                          f"({_STATUS[self.otr.trust_level(s.peer, s.tag)]})")

    def _on_ended(self, pair: Any) -> None:
        self._say(pair.peer, f"OTRv4: session with {pair.peer} device "
                             f"{pair.their_tag:08x} ended")

    # -- sending ----------------------------------------------------------------------------

    async def _encrypt_wrapper(self, stanza: Any) -> Any:
        try:
            return await self._encrypt(stanza, passthrough=True)
        except NothingToEncrypt:
            return stanza
        except _SentByOtr4:
            return None
        except Exception as exc:
            self._fail(f"message not sent: {exc}")
            return None

    async def encrypt(self, message: Message, jids: list[JID] | None, tab: Any) -> None:
        peer = JID(tab.jid if tab is not None else message["to"]).bare
        text = message["body"]
        if not self.otr.session_devices(peer):
            await self.otr.start_sessions(peer, timeout=10)
        try:
            report = await self.otr.send_message(peer, text)
        except NoRecipientsError as exc:
            lists = self.otr.device_lists.get(peer)
            if lists is None or not lists.entries:
                self._say(peer, f"OTRv4: {peer} does not use OTRv4 (no device list): "
                                "message not sent")
            else:
                self._say(peer, f"OTRv4: message not sent: {exc}")
            raise _SentByOtr4 from None
        if report.untrusted:
            self._say(peer, "OTRv4: not sent to untrusted device(s) "
                      + ", ".join(f"{a} {t:08x}" for a, t in report.untrusted))
        if report.missing:
            self._say(peer, "OTRv4: waiting for device(s) without a session (no prekey "
                      "service or not online): " + ", ".join(f"{t:08x}" for _, t in
                                                             report.missing))
        raise _SentByOtr4

    async def decrypt(self, message: Message, jid: JID | None, tab: Any) -> None:
        # xep_otr4 decrypts the stanza itself (otr4_message); the fallback body is hidden
        message["body"] = ""

    async def get_fingerprints(self, jid: JID) -> list[tuple[str, bool]]:
        return [(d.fingerprint, d.own) for d in self.otr.devices(JID(jid).bare)]

    # -- commands ---------------------------------------------------------------------------

    def _peer(self) -> str | None:
        tab = self.api.current_tab()
        if isinstance(tab, ChatTab):
            return str(JID(tab.jid).bare)
        self._fail("this command works in a conversation tab")
        return None

    def _sessions(self, peer: str) -> list[int]:
        tags = self.otr.session_devices(peer)
        if not tags:
            self._say(peer, f"OTRv4: no encrypted session with {peer}: send a message first")
        return tags

    def _guard(self, action: Any) -> None:
        try:
            action()
        except (OTRError, ValueError) as exc:
            self._fail(str(exc))

    def _cmd_devices(self, args: str) -> None:
        account = args.strip() or None
        if account is None and isinstance(self.api.current_tab(), ChatTab):
            account = str(JID(cast(ChatTab, self.api.current_tab()).jid).bare)
        own = [d for d in self.otr.devices() if d.own]
        others = [d for d in self.otr.devices(account) if not d.own] if account else \
            [d for d in self.otr.devices() if not d.own]
        lines = [_device_line(d) for d in own + others]
        self.api.information("OTRv4 devices:\n" + "\n".join(lines), "Info")

    def _cmd_smp(self, args: str) -> None:
        peer = self._peer()
        secret, _, question = args.strip().partition(" ")
        if peer is None:
            return
        if not secret:
            self._fail("usage: /otr4_smp <secret> [question]")
            return
        for tag in self._sessions(peer):
            self._guard(lambda t=tag: self.otr.smp_start(peer, t, secret, question.strip()))
            self._say(peer, f"OTRv4: SMP started with {peer} ({tag:08x})")

    def _cmd_answer(self, args: str) -> None:
        peer = self._peer()
        if peer is None:
            return
        tag = self._asked.pop(peer, None)
        if tag is None:
            self._say(peer, f"OTRv4: {peer} asked no SMP question")
            return
        self._guard(lambda: self.otr.smp_answer(peer, tag, args.strip()))

    def _cmd_abort(self, _args: str) -> None:
        peer = self._peer()
        if peer is not None:
            for tag in self._sessions(peer):
                self._guard(lambda t=tag: self.otr.smp_abort(peer, t))

    def _cmd_end(self, _args: str) -> None:
        peer = self._peer()
        if peer is not None:
            for tag in self._sessions(peer):
                self.core.register_task(self.otr.end_session(peer, tag))

    def store_trust(self, jid: JID, state: str, fingerprint: str) -> None:
        account = JID(jid).bare
        wanted = fingerprint.replace(" ", "").upper()
        found = [d for d in self.otr.devices(account) if not d.own and wanted and (
            d.fingerprint.replace(" ", "").startswith(wanted) or f"{d.tag:08X}" == wanted)]
        if len(found) != 1:
            self._fail(f"unknown device {fingerprint!r} of {account}" if not found
                       else f"{fingerprint!r} matches several devices of {account}")
            return
        self.otr.set_trust(account, found[0].tag, _LEVELS[state])
        self._say(account, f"OTRv4: {account} {found[0].tag:08x} is now {state}")

    def fetch_trust(self, jid: JID, fingerprint: str) -> str:
        for d in self.otr.devices(JID(jid).bare):
            if d.fingerprint == fingerprint:
                return d.trust.value
        return TrustLevel.UNDECIDED.value


def _info(text: str) -> Any:
    from poezio.ui.types import InfoMessage
    return InfoMessage(text)
