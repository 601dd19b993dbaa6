"""Public tests: the chat protocol with a few well-behaved clients."""

import pytest


@pytest.mark.points(2)
def test_welcome(chat):
    """Answers 'NICK <name>' with '* welcome <name>'"""
    ada = chat.connect("ada")
    ada.register()


@pytest.mark.points(2)
def test_join_announced_to_others(chat):
    """Tells the others '* <name> joined', but not the newcomer itself"""
    ada = chat.join("ada")
    bob = chat.connect("bob")
    bob.register()
    chat.joined(bob)  # ada must be told
    ada.send_line("hi bob")
    bob.expect_line(f"{ada.nick}: hi bob", "a line goes to every other client as '<name>: "
                    "<text>'", wrong={f"* {bob.nick} joined": "the newcomer itself is not told "
                                      "'* <name> joined' about its own arrival"})


@pytest.mark.points(3)
def test_message_goes_to_every_other_client(chat):
    """A line from one client reaches every other client as '<name>: <text>'"""
    ada, bob, carol = chat.join("ada"), chat.join("bob"), chat.join("carol")
    ada.send_line("hello, everyone")
    for other in (bob, carol):
        other.expect_line(f"{ada.nick}: hello, everyone", "a line goes to every other client "
                          "as '<name>: <text>'")


@pytest.mark.points(2)
def test_not_sent_back_to_sender(chat):
    """Never sends a message back to the client that sent it"""
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_line("one")
    bob.expect_line(f"{ada.nick}: one", "a line goes to every other client as '<name>: <text>'")
    bob.send_line("two")
    ada.expect_line(f"{bob.nick}: two", "a message is never sent back to its sender (the next "
                    "line the sender gets is someone else's)")


@pytest.mark.points(2)
def test_messages_in_order(chat):
    """Delivers several lines from one sender, sent at once, in order"""
    ada, bob = chat.join("ada"), chat.join("bob")
    ada.send_raw(b"".join(f"message {i}\n".encode() for i in range(10)))
    for i in range(10):
        bob.expect_line(f"{ada.nick}: message {i}", f"10 lines sent in one go arrive as 10 "
                        f"messages, in order (message {i + 1} of 10)")


@pytest.mark.points(2)
def test_who(chat):
    """Answers /who with the sorted list of names, only to the asker"""
    carol, ada, bob = chat.join("carol"), chat.join("ada"), chat.join("bob")
    chat.who(bob, [ada.nick, bob.nick, carol.nick],
             "/who is answered '* users: <names sorted, separated by \", \">'")
    carol.send_line("after who")
    ada.expect_line(f"{carol.nick}: after who", "/who is a command, answered only to the "
                    "asker: it is not sent to the others as a message")


@pytest.mark.points(2)
def test_leave_announced(chat):
    """Tells the others '* <name> left' when a client disconnects"""
    ada, bob, carol = chat.join("ada"), chat.join("bob"), chat.join("carol")
    carol.close()
    chat.leave(carol)
    for other in (ada, bob):
        other.expect_line(f"* {carol.nick} left", "when a client disconnects, every other "
                          "client gets '* <name> left'")


@pytest.mark.points(2)
def test_line_before_nick_is_an_error(chat):
    """Answers a line sent before NICK with '! error ...' and keeps the connection open"""
    ada = chat.connect("ada")
    ada.send_line("hello?")
    ada.expect_error("a line before NICK gets '! error <reason>'")
    ada.send_line(f"NICK {ada.nick}")
    ada.expect_line(f"* welcome {ada.nick}", "after an error the connection stays open: "
                    "NICK still works")
