"""Verifies captured webhook deliveries with the Standard Webhooks reference verifier
(PyPI: standardwebhooks). Reads {"secret", "deliveries": [{"headers", "body"}]} on stdin;
prints one line per delivery: "ok <event type>" or "refused <reason>"."""
import json
import sys

from standardwebhooks.webhooks import Webhook

request = json.load(sys.stdin)
hook = Webhook(request["secret"])
for delivery in request["deliveries"]:
    try:
        payload = hook.verify(delivery["body"], delivery["headers"])
        print("ok", payload["type"])
    except Exception as err:  # the verifier raises WebhookVerificationError
        print("refused", type(err).__name__)
