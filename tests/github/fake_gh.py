"""A stand-in for `gh api` against a repository's settings, for the settings script's tests.

It keeps what GitHub would hold (environments, their deployment branch policies, rulesets) in a
JSON file ($FAKE_GH_STATE) and answers as GitHub's REST API does for the calls the script makes:
POST of a ruleset whose name exists, or of a branch policy that exists, fails (GitHub answers 422
and 303); PUT replaces; GET lists (rulesets with their source_type); `--jq` runs the real jq;
`users/NAME` and `orgs/ORG/teams/TEAM` give an id. Every call is appended to the file's `log`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main(argv: list[str]) -> int:
    state_file = os.environ["FAKE_GH_STATE"]
    with open(state_file) as handle:
        state = json.load(handle)
    args = argv[1:]
    assert args[0] == "api", args
    method, jq, path = "GET", None, None
    rest = args[1:]
    while rest:
        item = rest.pop(0)
        if item == "--method":
            method = rest.pop(0)
        elif item == "--jq":
            jq = rest.pop(0)
        elif item == "--input":
            rest.pop(0)
        elif item == "--paginate":
            pass  # one page holds everything here
        else:
            path = item
    body = json.loads(sys.stdin.read()) if method in ("POST", "PUT") else None
    state["log"].append([method, path])
    parts = path.split("/")  # repos/OWNER/REPO/...
    answer, status = None, 0
    if parts[0] in ("users", "orgs"):
        answer = {"id": 1000 + len(path)}
    elif parts[3] == "rulesets":
        rulesets = state["rulesets"]
        if method == "GET":
            answer = [{**r, "source_type": "Repository"} for r in rulesets]
        elif method == "POST":
            if any(r["name"] == body["name"] for r in rulesets):
                print("Name must be unique (HTTP 422)", file=sys.stderr)
                status = 1
            else:
                rulesets.append({**body, "id": len(rulesets) + 1})
        else:  # PUT repos/O/R/rulesets/ID
            index = next(i for i, r in enumerate(rulesets) if r["id"] == int(parts[4]))
            rulesets[index] = {**body, "id": int(parts[4])}
    elif parts[-1] == "deployment-branch-policies":
        policies = state["branch_policies"].setdefault(parts[4], [])
        if method == "GET":
            answer = {"total_count": len(policies), "branch_policies": policies}
        elif any(p["name"] == body["name"] and p["type"] == body["type"] for p in policies):
            print("already exists (HTTP 303)", file=sys.stderr)
            status = 1
        else:
            policies.append({**body, "id": len(policies) + 1})
    else:
        state["put"][path] = body
    with open(state_file, "w") as handle:
        json.dump(state, handle)
    if answer is not None:
        text = json.dumps(answer)
        if jq:
            text = subprocess.run(
                ["jq", "-r", jq], input=text, capture_output=True, text=True, check=True
            ).stdout
        sys.stdout.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
