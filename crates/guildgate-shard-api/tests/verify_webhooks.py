"""Verifies captured webhook deliveries with the Standard Webhooks reference verifier
(PyPI: standardwebhooks). Reads {"secret", "raw"?, "deliveries": [{"headers", "body"}]} on
stdin (with "raw": true the secret is the key's own bytes, not whsec_ base64);
prints one line per delivery: "ok <event type>" or "refused <reason>"."""
import json
import sys

from standardwebhooks.webhooks import Webhook

request = json.load(sys.stdin)
secret = request["secret"]
hook = Webhook(secret.encode() if request.get("raw") else secret)
for delivery in request["deliveries"]:
    try:
        payload = hook.verify(delivery["body"], delivery["headers"])
        print("ok", payload["type"])
    except Exception as err:  # the verifier raises WebhookVerificationError
        print("refused", type(err).__name__)
