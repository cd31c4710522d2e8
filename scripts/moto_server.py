"""moto_server with DynamoDB requests handled one at a time; scripts/with-moto.sh runs it.

moto's server is threaded, and its DynamoDB backend takes no lock: a TransactWriteItems
deep-copies the table, applies its writes one by one, and when a condition fails puts the
copy back. A transaction acknowledged by another thread in the meantime is erased by that
rollback, and a reader can see half a transaction. Real DynamoDB does neither (transactions
are serializable), and exsync relies on it: the Message-ID dedup key and the activity are
written in one transaction, so a worker that finds the key finds the activity. Two workers
tracking the same messages at once (tests/worker/exactly_once.rs) lost an email to this
under CPU load.

DynamoDB requests are in-memory and short, so one lock around them costs little; SQS (whose
long polls block for seconds) and KMS stay concurrent.
"""

import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_DYNAMODB = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialized_call_action(self):  # type: ignore[no-untyped-def]
    with _DYNAMODB:
        return _call_action(self)


DynamoHandler.call_action = _serialized_call_action  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
