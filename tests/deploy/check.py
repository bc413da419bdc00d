#!/usr/bin/env python3
"""Checks the deploy examples: docs/examples (ECS and Kubernetes) and compose/.

Two kinds of check, offline:

1. the platform's own schema: Kubernetes manifests with kubernetes-validate (strict: an
   unknown or misspelled field fails) for the Kubernetes version docs/deploy.md names;
   ECS JSON with botocore's ECS service model and its parameter validator, as the AWS CLI
   would check it before sending it (RegisterTaskDefinition, a container definition, and
   RunTask's overrides);
2. the values liftoff depends on, read from the config the example image uses
   (docker/liftoff.toml) and liftoff's built-in defaults:
   - the platform's stop grace period (terminationGracePeriodSeconds, after any preStop
     sleep; ECS stopTimeout, 30 s unless set; compose stop_grace_period) is longer than
     liftoff's stop_timeout (gunicorn 28 s, every other server 8 s, unless set; a
     drain_delay counts inside it, docs/configuration.md), and a drain_delay is shorter
     than the stop_timeout it counts in;
   - the command (Kubernetes `args`, ECS `command`, compose `command`) is a profile that
     exists (prod, dev, or a table of the config) or a program the examples say they run,
     and nothing replaces the entrypoint (Kubernetes `command`, ECS `entryPoint`);
   - every health probe is `liftoff health`, with its --timeout under the probe's own,
     and every web container has one.

Then the controls: broken copies of the examples (a short grace period, a misspelled
profile, curl as the probe, a misspelled field) must each fail, so the checks can fail.

Runs in the tools venv (`make deploy-check`): needs kubernetes-validate, botocore, PyYAML.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import tomllib
from pathlib import Path

import botocore.session
import kubernetes_validate
import yaml
from botocore.validate import ParamValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import CheckFailed, Runner, expect  # noqa: E402 - the path above makes it importable.

EXAMPLES = ROOT / "docs" / "examples"
CONFIG = ROOT / "docker" / "liftoff.toml"
COMPOSE = ROOT / "compose" / "docker-compose.yml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"

# liftoff's built-in stop_timeout per server kind (docs/configuration.md).
BUILTIN_STOP_TIMEOUT = {"gunicorn": 28.0, "flask": 8.0, "command": 8.0, "program": 8.0}
BUILTIN_SERVER = {"prod": "gunicorn", "dev": "flask"}
# liftoff's own subcommands: any of them is a valid command word.
SUBCOMMANDS = {"run", "plan", "config", "check", "health", "help"}
# Programs the examples run through liftoff (passthrough), and why they may.
PROGRAMS = {
    "db-migrate": "the app's migration command, a program on PATH (docs/deploy.md)",
    "flask": "Flask's CLI, installed in the example image",
}
# Servers whose container must have a health probe.
WEB_SERVERS = {"gunicorn", "flask"}
# liftoff health's own default --timeout.
HEALTH_TIMEOUT = 5.0
# Kubernetes' defaults for a pod and a probe.
K8S_GRACE_DEFAULT = 30.0
K8S_PROBE_TIMEOUT_DEFAULT = 1.0
ECS_STOP_TIMEOUT_DEFAULT = 30.0
COMPOSE_GRACE_DEFAULT = 10.0

DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def seconds(value) -> float:
    """A duration as liftoff and compose write it (`28s`, `1m30s`, `500ms`) or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace(" ", "")
    parts = DURATION.findall(text)
    expect(parts and "".join(n + u for n, u in parts) == text, f"not a duration: {value!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


class LiftoffConfig:
    """The profiles of a liftoff.toml and the stop timing each one resolves to."""

    def __init__(self, path: Path):
        with open(path, "rb") as file:
            self.tables = tomllib.load(file)
        self.path = path
        self.profiles = {"prod", "dev"} | {name for name in self.tables if name != "default"}

    def value(self, profile: str, key: str, env: dict):
        """A key as liftoff merges it: LIFTOFF_KEY beats the profile's table, then [default]."""
        variable = f"LIFTOFF_{key.upper()}"
        if variable in env:
            return env[variable]
        for table in (self.tables.get(profile, {}), self.tables.get("default", {})):
            if key in table:
                return table[key]
        return None

    def server(self, profile: str, env: dict) -> str:
        """The server kind a profile runs (a profile with `command` runs a command)."""
        if profile not in self.profiles:
            return "program"
        if self.value(profile, "command", env) is not None:
            return "command"
        return self.value(profile, "server", env) or BUILTIN_SERVER.get(profile, "command")

    def stop_timing(self, profile: str, env: dict) -> tuple[float, float]:
        """(stop_timeout, drain_delay) in seconds for a profile, or a program."""
        stop = self.value(profile, "stop_timeout", env) if profile in self.profiles else env.get("LIFTOFF_STOP_TIMEOUT")
        drain = self.value(profile, "drain_delay", env) if profile in self.profiles else env.get("LIFTOFF_DRAIN_DELAY")
        stop_s = seconds(stop) if stop is not None else BUILTIN_STOP_TIMEOUT[self.server(profile, env)]
        return stop_s, seconds(drain) if drain is not None else 0.0


class Checker:
    """Collects the problems of every example, each naming the file and the field."""

    def __init__(self, config: LiftoffConfig):
        self.config = config
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        """Records one problem."""
        self.problems.append(f"{where}: {text}")

    def command(self, words: list[str] | None, where: str) -> str:
        """What liftoff runs for a command (None: the image's CMD, prod); returns the
        profile, or the program word when it is a program."""
        if not words:
            return "prod"
        first = words[0]
        if first.startswith("-"):
            self.problem(where, f"command {words} starts with a flag; name the profile first")
            return "prod"
        if first in self.config.profiles:
            return first
        if first == "run" and "--" in words[1:]:
            first = (words[words.index("--") + 1 :] or [""])[0]
        elif first in SUBCOMMANDS:
            return first
        if first not in PROGRAMS:
            self.problem(
                where,
                f"`{first}` is neither a profile of {self.config.path.relative_to(ROOT)} "
                f"({', '.join(sorted(self.config.profiles))}) nor a program the examples run "
                f"({', '.join(sorted(PROGRAMS))})",
            )
        return first

    def grace(self, profile: str, env: dict, grace: float, before: float, where: str, field: str) -> None:
        """The platform's grace period (after `before`, a preStop) outlasts liftoff's stop."""
        if profile in SUBCOMMANDS:
            return
        stop, drain = self.config.stop_timing(profile, env)
        if not grace - before > stop:
            self.problem(
                where,
                f"{field} {grace:g}s{f' - preStop {before:g}s' if before else ''} is not longer "
                f"than liftoff's stop_timeout {stop:g}s for `{profile}`: the platform would "
                "SIGKILL before liftoff's own deadline",
            )
        if drain and not drain < stop:
            self.problem(where, f"drain_delay {drain:g}s is not below stop_timeout {stop:g}s for `{profile}`")

    def health(self, command: list[str] | None, probe_timeout: float, where: str) -> None:
        """A probe runs `liftoff health`, whose --timeout ends before the probe's."""
        if not command or command[:2] != ["liftoff", "health"]:
            self.problem(where, f"the probe runs {command}, not `liftoff health`")
            return
        timeout = HEALTH_TIMEOUT
        if "--timeout" in command[2:-1]:
            timeout = seconds(command[command.index("--timeout") + 1])
        if not timeout < probe_timeout:
            self.problem(
                where,
                f"liftoff health --timeout {timeout:g}s is not under the probe's timeout "
                f"{probe_timeout:g}s: the probe is killed before liftoff can say why",
            )

    def web(self, profile: str, env: dict) -> bool:
        """Whether a command serves HTTP, so its container needs a health probe."""
        return profile in self.config.profiles and self.config.server(profile, env) in WEB_SERVERS

    def k8s(self, doc: dict, where: str) -> None:
        """A Deployment's or Job's pod template: command, grace period, probes."""
        spec = ((doc.get("spec") or {}).get("template") or {}).get("spec")
        if spec is None:
            return
        grace = float(spec.get("terminationGracePeriodSeconds", K8S_GRACE_DEFAULT))
        for container in spec.get("containers", []):
            here = f"{where} container {container.get('name')}"
            if "command" in container:
                self.problem(here, "sets `command`, which replaces the image's ENTRYPOINT (liftoff); use `args`")
            env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
            profile = self.command(container.get("args"), here)
            pre_stop = (((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {})
            self.grace(profile, env, grace, float(pre_stop.get("seconds", 0)), here, "terminationGracePeriodSeconds")
            probes = [name for name in ("startupProbe", "readinessProbe", "livenessProbe") if name in container]
            for name in probes:
                probe = container[name]
                exec_command = (probe.get("exec") or {}).get("command")
                timeout = float(probe.get("timeoutSeconds", K8S_PROBE_TIMEOUT_DEFAULT))
                self.health(exec_command, timeout, f"{here} {name}")
            if self.web(profile, env) and not probes:
                self.problem(here, f"serves `{profile}` without a probe")

    def ecs_container(self, container: dict, where: str, override: dict | None = None) -> None:
        """An ECS container definition (with a RunTask override): command, stopTimeout,
        health check."""
        here = f"{where} container {container.get('name')}"
        if "entryPoint" in container:
            self.problem(here, "sets `entryPoint`, which replaces the image's ENTRYPOINT (liftoff)")
        env = {e["name"]: e.get("value", "") for e in container.get("environment", [])}
        command = container.get("command")
        if override is not None:
            env.update({e["name"]: e.get("value", "") for e in override.get("environment", [])})
            command = override.get("command", command)
        profile = self.command(command, here)
        stop_timeout = float(container.get("stopTimeout", ECS_STOP_TIMEOUT_DEFAULT))
        self.grace(profile, env, stop_timeout, 0, here, "stopTimeout")
        check = container.get("healthCheck")
        if check:
            words = check.get("command", [])
            if words[:1] != ["CMD"]:
                self.problem(here, f"healthCheck.command {words} is not the exec form [\"CMD\", ...]")
            self.health(words[1:], float(check.get("timeout", 5)), f"{here} healthCheck")
        elif self.web(profile, env) and override is None:
            self.problem(here, f"serves `{profile}` without a healthCheck")

    def compose(self, doc: dict, where: str) -> None:
        """Compose services: command, stop_grace_period, healthcheck."""
        for name, service in (doc.get("services") or {}).items():
            here = f"{where} service {name}"
            if "entrypoint" in service:
                self.problem(here, "sets `entrypoint`, which replaces liftoff and drops the image's CMD")
            env = service.get("environment") or {}
            profile = self.command(service.get("command"), here)
            grace = seconds(service.get("stop_grace_period", COMPOSE_GRACE_DEFAULT))
            self.grace(profile, env, grace, 0, here, "stop_grace_period")
            test = (service.get("healthcheck") or {}).get("test")
            if test:
                self.health(test[1:] if test[:1] == ["CMD"] else test, seconds(service["healthcheck"].get("timeout", "30s")), f"{here} healthcheck")


def k8s_version() -> str:
    """The Kubernetes version docs/deploy.md says the manifests are validated against."""
    found = re.search(r"against the Kubernetes (\d+\.\d+) schema", DEPLOY_DOC.read_text())
    expect(found is not None, "docs/deploy.md names no Kubernetes version ('against the Kubernetes X.Y schema')")
    return found.group(1)


def k8s_schema(docs: list[dict], version: str, where: str) -> list[str]:
    """Problems kubernetes-validate finds with each document (strict: no unknown field)."""
    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            problems.append(f"{where} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}: {path}: {err.message}")
    return problems


class EcsModel:
    """botocore's ECS service model: the shapes the examples are requests of."""

    def __init__(self):
        model = botocore.session.get_session().get_service_model("ecs")
        register = model.operation_model("RegisterTaskDefinition").input_shape
        self.shapes = {
            "task definition": register,
            "container definition": register.members["containerDefinitions"].member,
            "RunTask overrides": model.operation_model("RunTask").input_shape.members["overrides"],
        }

    def problems(self, data: dict, kind: str, where: str) -> list[str]:
        """What botocore's validator says of `data` as a `kind`."""
        report = ParamValidator().validate(data, self.shapes[kind])
        return [f"{where} ({kind}): {line}" for line in report.generate_report().splitlines() if line.strip()]


class Examples:
    """The example files, loaded once; each check runs on these or on a broken copy."""

    def __init__(self):
        self.k8s = {
            path.name: [d for d in yaml.safe_load_all(path.read_text()) if d]
            for path in sorted(EXAMPLES.glob("k8s-*.yaml"))
        }
        self.ecs_task = json.loads((EXAMPLES / "ecs-task-definition.json").read_text())
        self.ecs_worker = json.loads((EXAMPLES / "ecs-worker-service-container.json").read_text())
        self.ecs_run_task = json.loads((EXAMPLES / "ecs-run-task-migrate.json").read_text())
        self.compose = yaml.safe_load(COMPOSE.read_text())


def schema_problems(examples: Examples, version: str, ecs: EcsModel) -> list[str]:
    """Every schema problem of every example."""
    problems = []
    for name, docs in examples.k8s.items():
        problems += k8s_schema(docs, version, name)
    problems += ecs.problems(examples.ecs_task, "task definition", "ecs-task-definition.json")
    problems += ecs.problems(examples.ecs_worker, "container definition", "ecs-worker-service-container.json")
    problems += ecs.problems(examples.ecs_run_task, "RunTask overrides", "ecs-run-task-migrate.json")
    return problems


def value_problems(examples: Examples, config: LiftoffConfig) -> list[str]:
    """Every problem of the values liftoff depends on, in every example."""
    checker = Checker(config)
    for name, docs in examples.k8s.items():
        for doc in docs:
            checker.k8s(doc, f"{name} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}")
    task = {c["name"]: c for c in examples.ecs_task.get("containerDefinitions", [])}
    for container in task.values():
        checker.ecs_container(container, "ecs-task-definition.json")
    checker.ecs_container(examples.ecs_worker, "ecs-worker-service-container.json")
    for override in examples.ecs_run_task.get("containerOverrides", []):
        if override.get("name") not in task:
            checker.problem("ecs-run-task-migrate.json", f"overrides container {override.get('name')!r}, which the task definition lacks")
            continue
        checker.ecs_container(task[override["name"]], "ecs-run-task-migrate.json", override)
    checker.compose(examples.compose, "compose/docker-compose.yml")
    return checker.problems


def report(problems: list[str]) -> None:
    """Fails the step with every problem, one a line."""
    expect(not problems, f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))


def controls(examples: Examples) -> dict[str, tuple[callable, str]]:
    """Broken copies of the examples, each with the text its failure must contain."""

    def deployment(ex):
        return ex.k8s["k8s-deployment.yaml"][0]["spec"]["template"]["spec"]

    def short_grace(ex):
        deployment(ex)["terminationGracePeriodSeconds"] = 30  # preStop 5 s + 28 s need more

    def misspelled_profile(ex):
        ex.ecs_worker["command"] = ["prdo"]

    def curl_probe(ex):
        deployment(ex)["containers"][0]["livenessProbe"]["exec"]["command"] = ["curl", "-f", "http://127.0.0.1:8000/health"]

    def slow_probe(ex):
        ex.ecs_task["containerDefinitions"][0]["healthCheck"]["command"][-1] = "10s"

    def short_stop_timeout(ex):
        ex.ecs_task["containerDefinitions"][0]["stopTimeout"] = 20

    def k8s_typo(ex):
        deployment(ex)["terminationGracePeriodSecond"] = deployment(ex).pop("terminationGracePeriodSeconds")

    def ecs_type(ex):
        ex.ecs_task["containerDefinitions"][0]["stopTimeout"] = "30"

    return {
        "terminationGracePeriodSeconds 30 with preStop 5 s": (short_grace, "terminationGracePeriodSeconds 30s - preStop 5s is not longer"),
        "ECS stopTimeout 20 for prod": (short_stop_timeout, "stopTimeout 20s is not longer than liftoff's stop_timeout 28s"),
        "a misspelled profile (prdo)": (misspelled_profile, "`prdo` is neither a profile"),
        "curl as the liveness probe": (curl_probe, "not `liftoff health`"),
        "liftoff health --timeout 10s in a 5 s check": (slow_probe, "--timeout 10s is not under the probe's timeout 5s"),
        "a misspelled Kubernetes field": (k8s_typo, "terminationGracePeriodSecond"),
        "stopTimeout as a string": (ecs_type, "Invalid type for parameter containerDefinitions[0].stopTimeout"),
    }


def main() -> int:
    """Runs the schema and value checks on the examples, then the controls."""
    runner = Runner("deploy")
    try:
        with runner.step("load: the examples, docker/liftoff.toml, the ECS model", fatal=True):
            examples = Examples()
            config = LiftoffConfig(CONFIG)
            version = k8s_version()
            ecs = EcsModel()
            print(f"    Kubernetes {version} (from docs/deploy.md); profiles {sorted(config.profiles)}")
        with runner.step(f"check: schemas (Kubernetes {version} strict; botocore ECS model)"):
            report(schema_problems(examples, version, ecs))
        with runner.step("check: grace periods, commands, health probes against liftoff"):
            report(value_problems(examples, config))
        for name, (breaks, must_say) in controls(examples).items():
            with runner.step(f"check: control: {name} is caught"):
                broken = copy.deepcopy(examples)
                breaks(broken)
                found = schema_problems(broken, version, ecs) + value_problems(broken, config)
                expect(any(must_say in p for p in found), f"no problem says {must_say!r}; found {found}")
                print(f"    caught: {next(p for p in found if must_say in p)}")
    except CheckFailed:
        pass
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
