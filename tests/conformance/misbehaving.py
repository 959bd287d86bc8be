"""An adapter that misbehaves on one operation: ``python misbehaving.py MODE OP``.

MODE is ``hang`` (never answers), ``crash`` (writes to stderr and exits 3),
``garbage`` (answers a line that is not JSON) or ``wrong-id`` (answers with
another id); every other operation is answered by the reference adapter.
"""

from __future__ import annotations

import json
import sys
import time

from otrv4_conformance.reference import ReferenceAdapter


def main() -> None:
    mode, target = sys.argv[1], sys.argv[2]
    adapter = ReferenceAdapter()
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == target:
            if mode == "hang":
                while True:
                    time.sleep(60)
            if mode == "crash":
                sys.stderr.write(f"segmentation fault in {target} (simulated)\n")
                sys.stderr.flush()
                sys.exit(3)
            if mode == "garbage":
                sys.stdout.write("<<this is not JSON>>\n")
                sys.stdout.flush()
                continue
            if mode == "wrong-id":
                sys.stdout.write(json.dumps({"id": request["id"] + 100, "result": {}}) + "\n")
                sys.stdout.flush()
                continue
        body = adapter.handle(request["op"], request.get("args", {}))
        sys.stdout.write(json.dumps({"id": request["id"], **body}) + "\n")
        sys.stdout.flush()
        if request["op"] == "bye":
            return


if __name__ == "__main__":
    main()
