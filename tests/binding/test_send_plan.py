"""The send planner (:mod:`otrv4_xmpp.send_plan`): who gets a message and how, without XMPP."""

from __future__ import annotations

from otrv4_xmpp.devices import DeviceEntry, DeviceList, DeviceMode
from otrv4_xmpp.policy import InstanceTagPolicy
from otrv4_xmpp.send_plan import SendPlan, Skipped, SkipReason, plan_send

NOW = 1_800_000_000
ROMEO, JULIET = "romeo@montague.lit", "juliet@capulet.lit"
ME = 0x0000_0A01  # Juliet's sending device
J2, J3 = 0x0000_0A02, 0x0000_0A03
R1, R2, R3, R4 = 0x0000_0B01, 0x0000_0B02, 0x0000_0B03, 0x0000_0B04


def entry(tag: int, *, expires: int = NOW + 3600,
          mode: DeviceMode = DeviceMode.STANDALONE) -> DeviceEntry:
    return DeviceEntry(tag, mode, expires)


def plan(**kw: object) -> SendPlan:
    args: dict[str, object] = {
        "own": JULIET, "own_tag": ME, "now": NOW,
        "device_lists": {
            ROMEO: DeviceList.of([entry(R1), entry(R2), entry(R3, expires=NOW - 1)]),
            JULIET: DeviceList.of([entry(ME), entry(J2)]),
        },
        "sessions": {(ROMEO, R1), (JULIET, J2)},
    }
    args.update(kw)
    return plan_send(ROMEO, **args)  # type: ignore[arg-type]


def test_each_device_gets_one_route_and_the_rest_a_reason() -> None:
    p = plan()
    assert p.chosen == ((ROMEO, R1), (ROMEO, R2), (JULIET, J2))
    assert p.session == ((ROMEO, R1), (JULIET, J2))
    assert p.prekey == ((ROMEO, R2),)  # listed, no session: offline start
    assert p.interactive == ()
    assert set(p.skipped) == {Skipped((ROMEO, R3), SkipReason.EXPIRED),
                              Skipped((JULIET, ME), SkipReason.OWN_DEVICE)}
    assert p.prekey_accounts() == {ROMEO: (R2,)}


def test_without_offline_start_devices_without_session_wait_for_an_interactive_dake() -> None:
    p = plan(offline_start=False)
    assert p.prekey == ()
    assert p.interactive == ((ROMEO, R2),)


def test_an_interactive_only_device_never_gets_a_prekey_ensemble() -> None:
    lists = {ROMEO: DeviceList.of([entry(R1), entry(R2, mode=DeviceMode.INTERACTIVE_ONLY),
                                   entry(R4)]),
             JULIET: DeviceList.of([entry(ME)])}
    p = plan(device_lists=lists, sessions=set())
    assert p.prekey == ((ROMEO, R1), (ROMEO, R4))
    assert p.interactive == ((ROMEO, R2),)
    assert p.prekey_accounts() == {ROMEO: (R1, R4)}


def test_trust_is_asked_for_chosen_devices_with_a_session_only() -> None:
    asked: list[tuple[str, int]] = []

    def trusted(account: str, tag: int) -> bool:
        asked.append((account, tag))
        return account == JULIET

    p = plan(trusted=trusted)
    assert asked == [(ROMEO, R1), (JULIET, J2)]
    assert p.session == ((JULIET, J2),)
    assert p.untrusted == ((ROMEO, R1),)
    assert (ROMEO, R1) in p.chosen  # chosen, then refused: not "missing"


def test_only_restricts_the_choice() -> None:
    p = plan(only=[(ROMEO, R2)])
    assert p.chosen == ((ROMEO, R2),)
    assert p.session == () and p.prekey == ((ROMEO, R2),)
    assert p.skipped_for(SkipReason.NOT_REQUESTED) == ((ROMEO, R1), (JULIET, J2))


def test_a_session_with_an_expired_entry_or_off_the_list_is_skipped() -> None:
    lists = {ROMEO: DeviceList.of([entry(R3, expires=NOW - 1), entry(R1)]),
             JULIET: DeviceList()}
    p = plan(device_lists=lists, sessions={(ROMEO, R1), (ROMEO, R3), (ROMEO, R4)})
    assert p.session == ((ROMEO, R1),)
    assert set(p.skipped) == {Skipped((ROMEO, R3), SkipReason.EXPIRED),
                              Skipped((ROMEO, R4), SkipReason.LEFT_LIST)}


def test_a_session_is_a_recipient_while_its_account_list_is_unknown() -> None:
    p = plan(device_lists={JULIET: DeviceList()}, sessions={(ROMEO, R3), (ROMEO, R4)})
    assert p.session == ((ROMEO, R3), (ROMEO, R4))
    assert p.skipped == ()


def test_missing_lists_are_empty_and_a_peer_without_devices_leaves_the_own_ones() -> None:
    p = plan(device_lists={}, sessions={(JULIET, J3), (JULIET, J2)})
    assert p.chosen == ((JULIET, J2), (JULIET, J3))
    assert p.session == p.chosen
    nothing = plan(device_lists={}, sessions=set())
    assert nothing == SendPlan(ROMEO)


def test_a_single_instance_policy_picks_one_peer_device_and_none_of_ours() -> None:
    p = plan(policy=InstanceTagPolicy.RECENT_RECEIVED,
             last_received={(ROMEO, R1): NOW - 60, (ROMEO, R2): NOW - 5})
    assert p.chosen == ((ROMEO, R2),)
    assert p.skipped_for(SkipReason.NOT_SELECTED) == ((ROMEO, R1), (JULIET, J2))


def test_a_note_to_self_goes_to_the_other_own_devices() -> None:
    lists = {JULIET: DeviceList.of([entry(ME), entry(J2), entry(J3)])}
    p = plan_send(JULIET, own=JULIET, own_tag=ME, device_lists=lists,
                  sessions={(JULIET, J2)}, now=NOW)
    assert p.chosen == ((JULIET, J2), (JULIET, J3))
    assert p.session == ((JULIET, J2),) and p.prekey == ((JULIET, J3),)
    assert p.skipped == (Skipped((JULIET, ME), SkipReason.OWN_DEVICE),)


def test_the_plan_is_a_value() -> None:
    assert plan() == plan()
    assert hash(plan()) == hash(plan())
