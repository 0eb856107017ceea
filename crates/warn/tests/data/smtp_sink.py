"""A real SMTP server on 127.0.0.1 for the delivery tests (aiosmtpd).

Usage: smtp_sink.py PORT OUT.jsonl. Each message received is decoded with Python's email
package and appended to OUT.jsonl as {message_id, from, to, subject, body}; "ready" is printed
once the server listens, and it stops when standard input closes.
"""
import email
import json
import sys
from email import policy

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        line = {
            "message_id": msg["Message-ID"],
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["Subject"]),
            "body": msg.get_content(),
        }
        with open(sys.argv[2], "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return "250 OK"


controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
