"""exchangelib against the Exchange simulator, over NTLM and over Basic.

exchangelib is a mature, independent EWS client; if it works unchanged against the simulator,
the simulator speaks real EWS (and validates every request against Microsoft's schema while
doing so). Each test runs once per auth scheme.
"""

import uuid

import pytest
from exchangelib import Mailbox, Message
from exchangelib.errors import ErrorImpersonateUserDenied, UnauthorizedError

from conftest import ALICE, BOB, CAROL, SEED_SUBJECTS, make_account


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def test_get_folder_returns_the_inbox(alice):
    inbox = alice.inbox  # GetFolder on the distinguished folder "inbox"
    assert inbox.id
    assert inbox.total_count >= len(SEED_SUBJECTS)


def test_find_item_lists_the_seeded_messages(alice):
    subjects = {m.subject for m in alice.inbox.all().only("subject")}  # FindItem
    assert set(SEED_SUBJECTS) <= subjects


def test_find_item_with_a_restriction_finds_one_message(alice):
    found = list(alice.inbox.filter(subject=SEED_SUBJECTS[2]).only("subject"))
    assert [m.subject for m in found] == [SEED_SUBJECTS[2]]


def test_get_item_reads_sender_body_and_message_id(alice):
    ids = [(m.id, m.changekey) for m in alice.inbox.filter(subject=SEED_SUBJECTS[0]).only("id", "changekey")]
    assert len(ids) == 1
    (msg,) = list(alice.fetch(ids=ids))  # GetItem with every field the 2010 SP2 level has
    assert msg.subject == SEED_SUBJECTS[0]
    assert msg.sender.email_address == "customer1@fabrikam.test"
    assert msg.message_id == "<seed-1@fabrikam.test>"
    assert "Body of Seeded message 1" in str(msg.body)


def test_sync_folder_items_pages_through_every_item_then_reports_nothing_new(alice):
    inbox = alice.inbox
    seen = []
    # max_changes_returned=2 forces several pages (IncludesLastItemInRange=false until the end).
    for change_type, item in inbox.sync_items(only_fields=["subject"], max_changes_returned=2):
        seen.append((change_type, item.subject))
    assert {s for _, s in seen} >= set(SEED_SUBJECTS)
    assert all(change == "create" for change, _ in seen)
    assert len(seen) == len({s for _, s in seen}), "no item reported twice"
    assert inbox.item_sync_state
    assert list(inbox.sync_items(only_fields=["subject"])) == []


def test_send_and_save_copy_delivers_to_the_recipient_and_keeps_a_copy(alice, bob):
    subject = unique("Interop send")
    Message(
        account=alice,
        folder=alice.sent,
        subject=subject,
        body="Sent through the simulator by exchangelib",
        to_recipients=[Mailbox(email_address=BOB)],
    ).send_and_save()  # CreateItem MessageDisposition=SendAndSaveCopy
    assert [m.subject for m in bob.inbox.filter(subject=subject)] == [subject]
    assert [m.subject for m in alice.sent.filter(subject=subject)] == [subject]


def test_move_item_moves_a_draft_to_deleted_items(alice):
    subject = unique("Interop move")
    draft = Message(account=alice, folder=alice.drafts, subject=subject, body="to be moved")
    draft.save()  # CreateItem SaveOnly
    draft.move(alice.trash)  # MoveItem
    assert list(alice.drafts.filter(subject=subject)) == []
    assert [m.subject for m in alice.trash.filter(subject=subject)] == [subject]


def test_impersonating_a_mailbox_without_a_grant_is_denied(sims, scheme):
    carol = make_account(sims[scheme], scheme, CAROL)
    with pytest.raises(ErrorImpersonateUserDenied):
        carol.inbox.refresh()


def test_a_wrong_password_is_unauthorized(sims, scheme):
    wrong = make_account(sims[scheme], scheme, ALICE, password="not-the-password")
    with pytest.raises(UnauthorizedError):
        wrong.inbox.refresh()
