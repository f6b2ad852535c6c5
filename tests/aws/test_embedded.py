"""The embedded AWS: a moto server per process tree, accounts kept apart by STS."""

from __future__ import annotations

import http.client
import http.server
import io
import socket
import threading
import time
import uuid

import boto3
import pytest
from botocore.config import Config

from training_pipeline.aws import embedded
from training_pipeline.aws.sessions import account_session
from training_pipeline.config.settings import load_settings


def test_persistent_server_lifecycle(tmp_path):
    state = tmp_path / "server.json"
    assert embedded.running_server(state) is None
    server, started = embedded.ensure_server(state)
    try:
        assert started and server.is_alive()
        again, started_again = embedded.ensure_server(state)
        assert again == server and not started_again  # reused, not a second server
    finally:
        assert embedded.shutdown(state)
    assert not embedded.shutdown(state)
    assert embedded.running_server(state) is None


def test_accounts_are_isolated(embedded_env):
    settings = load_settings()
    sessions = {name: account_session(settings, name) for name in ("dev", "prod")}
    for name, session in sessions.items():
        identity = session.client("sts").get_caller_identity()
        assert identity["Account"] == settings.accounts[name]
    sessions["dev"].client("s3").create_bucket(
        Bucket="isolation-probe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    listed = {
        name: [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
        for name, session in sessions.items()
    }
    assert "isolation-probe" in listed["dev"] and "isolation-probe" not in listed["prod"]


def test_the_base_identity_is_not_an_environment_account(embedded_env):
    account = boto3.Session().client("sts").get_caller_identity()["Account"]
    assert account not in load_settings().accounts.values()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "staging.deploy_role_arn",
            "arn:aws:iam::333333333333:role/mlops-demo-staging-github-deploy",
        ),
        ("operations.ci_role_arn", "arn:aws:iam::111111111111:role/mlops-demo-github-ci"),
        (
            "operations.training_repository",
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops-demo-training",
        ),
        ("project.region", "eu-west-1"),
        ("prod.approval", "manual"),
    ],
)
def test_profiles_get_for_workflows(key, expected, capsys):
    from training_pipeline import cli

    assert cli.main(["profiles", "get", key]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_profiles_get_unknown_key(capsys):
    from training_pipeline import cli

    assert cli.main(["profiles", "get", "prod.password"]) == 1
    assert "unknown key 'prod.password'" in capsys.readouterr().err


def test_an_alarm_of_one_period_is_evaluated_when_its_metric_arrives(embedded_env):
    # moto never evaluates alarms; the embedded AWS does for the simple ones, as CloudWatch
    # would at the end of the period, so a drift check's verdict sets off its alarm.
    cloudwatch = account_session(load_settings(), "staging").client("cloudwatch")
    dimensions = [{"Name": "ModelPackageGroup", "Value": "probe-group"}]
    cloudwatch.put_metric_alarm(
        AlarmName="probe-drift",
        Namespace="Probe/Drift",
        MetricName="DriftedColumns",
        Dimensions=dimensions,
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )

    def state() -> str:
        return cloudwatch.describe_alarms(AlarmNames=["probe-drift"])["MetricAlarms"][0][
            "StateValue"
        ]

    def put(value: float, name: str = "DriftedColumns", group: str = "probe-group") -> None:
        cloudwatch.put_metric_data(
            Namespace="Probe/Drift",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "ModelPackageGroup", "Value": group}],
                    "Value": value,
                }
            ],
        )

    put(0)
    assert state() == "OK"
    put(3)
    assert state() == "ALARM"
    alarm = cloudwatch.describe_alarms(AlarmNames=["probe-drift"])["MetricAlarms"][0]
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [3.0 (")
    assert alarm["StateReason"].endswith(")] was greater than or equal to the threshold (1.0).")
    put(0, group="another-group")  # another model's verdict: not this alarm's
    put(0, name="WindowRows")
    assert state() == "ALARM"
    # The period's Maximum is still 3: as on CloudWatch, a 0 in the same period changes nothing.
    put(0)
    assert state() == "ALARM"
    # Other accounts' alarms are theirs: prod has no such alarm.
    prod = account_session(load_settings(), "prod").client("cloudwatch")
    assert prod.describe_alarms(AlarmNames=["probe-drift"])["MetricAlarms"] == []


def test_update_endpoint_ends_as_a_successful_sagemaker_update(embedded_env):
    # moto has no UpdateEndpoint; the embedded AWS answers as SageMaker once an update ended
    # well, so deploying a second approved version (a second `make demo`) works.
    sagemaker = account_session(load_settings(), "staging").client("sagemaker")
    role = "arn:aws:iam::333333333333:role/probe-endpoint"
    for name in ("probe-v1", "probe-v2"):
        sagemaker.create_model(
            ModelName=name,
            PrimaryContainer={"Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/i:1"},
            ExecutionRoleArn=role,
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 2 if name == "probe-v2" else 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName="probe", EndpointConfigName="probe-v1")
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "probe-5xx"}]},
    }

    answer = sagemaker.update_endpoint(
        EndpointName="probe", EndpointConfigName="probe-v2", DeploymentConfig=deployment
    )

    endpoint = sagemaker.describe_endpoint(EndpointName="probe")
    assert answer["EndpointArn"] == endpoint["EndpointArn"]
    assert endpoint["EndpointConfigName"] == "probe-v2"
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert endpoint["LastDeploymentConfig"] == deployment
    with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find endpoint config"):
        sagemaker.update_endpoint(EndpointName="probe", EndpointConfigName="probe-v3")
    with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find endpoint '"):
        sagemaker.update_endpoint(EndpointName="nowhere", EndpointConfigName="probe-v1")
    assert sagemaker.describe_endpoint(EndpointName="probe")["EndpointConfigName"] == "probe-v2"


class _LosesFirstAnswer(http.server.BaseHTTPRequestHandler):
    """A proxy to the embedded AWS that forwards each request and, for the first one, closes the
    connection instead of answering: the lost answer an SDK retries after a connection reset."""

    upstream = ""
    lost: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        upstream = http.client.HTTPConnection(self.upstream.removeprefix("http://"), timeout=30)
        upstream.request("POST", self.path, body, dict(self.headers))
        answer = upstream.getresponse()
        payload = answer.read()
        if not self.lost:
            self.lost.append(self.headers["amz-sdk-invocation-id"])
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_a_create_whose_answer_was_lost_is_not_run_twice_when_the_sdk_retries(embedded_env):
    # Under load an answer can be lost after the create ran; the SDK's retry (same invocation
    # id, attempt 2) used to meet the created role and fail a Terraform apply.
    handler = type(
        "Proxy", (_LosesFirstAnswer,), {"upstream": embedded_env.endpoint_url, "lost": []}
    )
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    name = f"retried-{uuid.uuid4().hex[:8]}"
    policy = '{"Version": "2012-10-17", "Statement": []}'
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=f"http://127.0.0.1:{proxy.server_address[1]}",
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]
    finally:
        proxy.shutdown()
        proxy.server_close()

    assert handler.lost, "the proxy lost no answer: the retry was not exercised"
    direct = boto3.client("iam")
    assert direct.get_role(RoleName=name)["Role"]["RoleId"] == role["RoleId"]
    # A new invocation is a new request: creating the role again is refused, as on AWS.
    with pytest.raises(direct.exceptions.EntityAlreadyExistsException):
        direct.create_role(RoleName=name, AssumeRolePolicyDocument=policy)


def test_answers_kept_for_retries_stay_within_their_byte_bound(monkeypatch):
    from collections import OrderedDict

    from training_pipeline.aws import embedded_server as server

    answer = ("200 OK", [("Content-Type", "text/xml")], b"x" * 74)  # 100 bytes of text
    size = server._size(answer)
    assert size == 100 + 256 + 64
    monkeypatch.setattr(server, "_KEPT_ANSWER_BYTES", 16 * size)
    monkeypatch.setattr(server, "_answers", OrderedDict())
    monkeypatch.setattr(server, "_kept_bytes", 0)
    for number in range(20):
        server._keep(f"invocation-{number}", answer)
    server._keep("invocation-19", answer)  # a retry that ran again replaces its first answer
    server._keep("a-long-listing", ("200 OK", [], b"x" * size))  # beyond a sixteenth

    assert list(server._answers) == [f"invocation-{number}" for number in range(4, 20)]
    assert server._kept_bytes == 16 * size


def test_a_retry_that_overtakes_its_first_attempt_waits_for_its_answer(monkeypatch):
    # A connection reset while moto still runs the create: the SDK's retry arrives before the
    # first attempt has an answer to keep. moto is replaced by a slow application that counts
    # what it runs, to hold the first attempt open.
    from collections import OrderedDict

    from training_pipeline.aws import embedded_server as server

    ran: list[str] = []
    started = threading.Event()

    def slow_create(_self, environ, start_response):
        ran.append(environ["HTTP_AMZ_SDK_REQUEST"])
        started.set()
        time.sleep(0.5)
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<Created/>"]

    monkeypatch.setattr(server, "_dispatch", slow_create)
    monkeypatch.setattr(server, "_answers", OrderedDict())
    monkeypatch.setattr(server, "_running", {})

    def attempt(number: int, answers: list) -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "HTTP_AMZ_SDK_INVOCATION_ID": "one-create",
            "HTTP_AMZ_SDK_REQUEST": f"attempt={number}; max=3",
            "CONTENT_LENGTH": "0",
            "wsgi.input": io.BytesIO(),
        }
        statuses: list[str] = []
        body = server._answer_once(None, environ, lambda status, _h, *_: statuses.append(status))
        answers.append((statuses[0], b"".join(body)))

    first: list = []
    retry: list = []
    running = threading.Thread(target=attempt, args=(1, first))
    running.start()
    assert started.wait(5)
    attempt(2, retry)
    running.join()

    assert ran == ["attempt=1; max=3"]  # the retry did not run the create again
    assert retry == first == [("200 OK", b"<Created/>")]
