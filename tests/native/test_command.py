"""build_flink_run_argv and its parts: CLI form per Flink version, -D options, Python jobs, validation,
cluster ids, version parsing and masking. Pure functions: no Flink, no Kubernetes."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from airflow_provider_flink.native import (
    CLUSTER_ID_MAX_LENGTH,
    FlinkVersion,
    NativeJobSpec,
    NativeSpecError,
    build_dynamic_properties,
    build_flink_run_argv,
    derive_cluster_id,
    is_sensitive_key,
    mask_argv,
    parse_flink_version,
    run_action,
    sensitive_values,
    validate_cluster_id,
)

JAR = "local:///opt/flink/usrlib/wordcount.jar"
BASE: dict[str, Any] = {"cluster_id": "wordcount", "image": "flink:2.3"}
BASE_D = [
    "-Dkubernetes.cluster-id=wordcount",
    "-Dkubernetes.container.image.ref=flink:2.3",
    "-Dexecution.shutdown-on-application-finish=false",
]


def jar_spec(**overrides: Any) -> NativeJobSpec:
    return NativeJobSpec(**{**BASE, "jar": JAR, **overrides})


def py_spec(**overrides: Any) -> NativeJobSpec:
    return NativeJobSpec(**{**BASE, "py_file": "/opt/flink/usrlib/job.py", **overrides})


def d_options(argv: list[str]) -> list[str]:
    return [item for item in argv if item.startswith("-D")]


# ---------------------------------------------------------------------------------------------------
# CLI form per Flink version
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flink_version", "action"),
    [
        ("2.3.0", "run"),
        ("2.0", "run"),
        ("v2_1", "run"),
        ("1.20.3", "run-application"),
        ("v1_20", "run-application"),
        ("1.19.1", "run-application"),
        ("1.18", "run-application"),
        ("1.17.2", "run-application"),
    ],
)
def test_jar_job_argv_uses_the_action_of_its_flink_version(flink_version, action):
    argv = build_flink_run_argv(
        jar_spec(entry_class="org.example.WordCount", program_args=["--input", "a"]),
        flink_version=flink_version,
        flink_binary="/opt/flink/bin/flink",
    )

    assert argv == [
        "/opt/flink/bin/flink",
        action,
        "--target",
        "kubernetes-application",
        *BASE_D,
        "-c",
        "org.example.WordCount",
        JAR,
        "--input",
        "a",
    ]
    assert run_action(flink_version) == action


@pytest.mark.parametrize("flink_version", ["1.16.3", "1.13", "v1_16", "0.9"])
def test_flink_older_than_1_17_is_unsupported(flink_version):
    with pytest.raises(NativeSpecError, match=r"not supported.*1\.17 or newer"):
        build_flink_run_argv(jar_spec(), flink_version=flink_version)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.19.1", (1, 19, 1)),
        ("2.3.0", (2, 3, 0)),
        ("v1_20", (1, 20, None)),
        ("V1_18", (1, 18, None)),
        ("2.0", (2, 0, None)),
        (" 1.17.2 ", (1, 17, 2)),
        ("2.1-SNAPSHOT", (2, 1, None)),
        ("1.20.0-rc1", (1, 20, 0)),
    ],
)
def test_flink_version_strings_are_understood(text, expected):
    assert FlinkVersion.parse(text) == expected


@pytest.mark.parametrize("text", ["", "2", "latest", "1.x", "flink-1.20", "1.20.1.4", "v1-20", "1.20 beta", None, 2.3])
def test_unknown_flink_version_is_a_clear_error(text):
    with pytest.raises(NativeSpecError, match="Flink version"):
        build_flink_run_argv(jar_spec(), flink_version=text)


# ---------------------------------------------------------------------------------------------------
# Typed options
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("namespace", "flink-jobs", "-Dkubernetes.namespace=flink-jobs"),
        ("image_pull_policy", "Always", "-Dkubernetes.container.image.pull-policy=Always"),
        (
            "image_pull_secrets",
            ["regcred", "other.cred"],
            "-Dkubernetes.container.image.pull-secrets=regcred;other.cred",
        ),
        ("service_account", "flink", "-Dkubernetes.service-account=flink"),
        ("jobmanager_cpu", 0.5, "-Dkubernetes.jobmanager.cpu.amount=0.5"),
        ("jobmanager_cpu", 2, "-Dkubernetes.jobmanager.cpu.amount=2"),
        ("jobmanager_memory", "2048m", "-Djobmanager.memory.process.size=2048m"),
        ("taskmanager_cpu", 1.5, "-Dkubernetes.taskmanager.cpu.amount=1.5"),
        ("taskmanager_memory", "4 gb", "-Dtaskmanager.memory.process.size=4 gb"),
        ("task_slots", 4, "-Dtaskmanager.numberOfTaskSlots=4"),
        ("pod_template_file", "/t/pod.yaml", "-Dkubernetes.pod-template-file.default=/t/pod.yaml"),
        (
            "jobmanager_pod_template_file",
            "/t/jm.yaml",
            "-Dkubernetes.pod-template-file.jobmanager=/t/jm.yaml",
        ),
        (
            "taskmanager_pod_template_file",
            "/t/tm.yaml",
            "-Dkubernetes.pod-template-file.taskmanager=/t/tm.yaml",
        ),
        ("rest_service_exposed_type", "NodePort", "-Dkubernetes.rest-service.exposed.type=NodePort"),
        ("kubeconfig_path", "/home/a/.kube/config", "-Dkubernetes.config.file=/home/a/.kube/config"),
        ("kube_context", "kind-flink", "-Dkubernetes.context=kind-flink"),
        ("shutdown_on_application_finish", True, "-Dexecution.shutdown-on-application-finish=true"),
    ],
)
@pytest.mark.parametrize("flink_version", ["2.3.0", "1.17.2"])
def test_typed_option_becomes_its_current_flink_key_on_every_version(field, value, option, flink_version):
    argv = build_flink_run_argv(jar_spec(**{field: value}), flink_version=flink_version)

    assert option in d_options(argv)


def test_defaults_set_only_cluster_id_image_and_keep_the_jobmanager_after_the_job():
    assert d_options(build_flink_run_argv(jar_spec(), flink_version="2.3.0")) == BASE_D


def test_unset_typed_options_leave_flink_defaults_alone():
    properties = build_dynamic_properties(jar_spec(), flink_version="2.3.0")

    assert set(properties) == {
        "kubernetes.cluster-id",
        "kubernetes.container.image.ref",
        "execution.shutdown-on-application-finish",
    }


@pytest.mark.parametrize(
    ("deprecated_key", "value", "option"),
    [
        ("kubernetes.jobmanager.cpu", "2", "-Dkubernetes.jobmanager.cpu.amount=2"),
        ("kubernetes.taskmanager.cpu", 0.25, "-Dkubernetes.taskmanager.cpu.amount=0.25"),
        ("kubernetes.pod-template-file", "/t/pod.yaml", "-Dkubernetes.pod-template-file.default=/t/pod.yaml"),
        ("high-availability", "kubernetes", "-Dhigh-availability.type=kubernetes"),
        ("state.backend", "rocksdb", "-Dstate.backend.type=rocksdb"),
        ("restart-strategy", "none", "-Drestart-strategy.type=none"),
        ("env.java.opts", "-Xss4m", "-Denv.java.opts.all=-Xss4m"),
        ("execution.buffer-timeout", "10 ms", "-Dexecution.buffer-timeout.interval=10 ms"),
        ("execution.checkpointing.unaligned", True, "-Dexecution.checkpointing.unaligned.enabled=true"),
    ],
)
def test_flink_conf_under_a_deprecated_key_is_sent_under_the_current_key(deprecated_key, value, option):
    argv = build_flink_run_argv(jar_spec(flink_conf={deprecated_key: value}), flink_version="2.3.0")

    assert option in argv
    assert not any(item.startswith(f"-D{deprecated_key}=") for item in argv)


def test_deprecated_key_next_to_its_longer_sibling_is_accepted_once_renamed():
    # "kubernetes.jobmanager.cpu" is a dotted prefix of the limit-factor option: only the rename makes
    # the pair writable to Flink 2's nested config.yaml.
    conf = {"kubernetes.jobmanager.cpu": 1, "kubernetes.jobmanager.cpu.limit-factor": 2}

    argv = build_flink_run_argv(jar_spec(flink_conf=conf), flink_version="2.3.0")

    assert "-Dkubernetes.jobmanager.cpu.amount=1" in argv
    assert "-Dkubernetes.jobmanager.cpu.limit-factor=2" in argv


# ---------------------------------------------------------------------------------------------------
# flink_conf passthrough and conflicts
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("s3://bucket/checkpoints", "s3://bucket/checkpoints"),
        ("a=b=c", "a=b=c"),
        ("k1:v1,k2:v2", "k1:v1,k2:v2"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (0.5, "0.5"),
        ("has spaces inside", "has spaces inside"),
    ],
)
def test_flink_conf_value_is_passed_as_a_dynamic_property(value, rendered):
    argv = build_flink_run_argv(jar_spec(flink_conf={"my.option": value}), flink_version="2.3.0")

    assert f"-Dmy.option={rendered}" in argv


def test_flink_conf_follows_typed_options_in_its_own_order():
    conf = {"state.checkpoints.dir": "s3://b/c", "containerized.master.env.TZ": "UTC", "a.b": "1"}

    argv = build_flink_run_argv(jar_spec(flink_conf=conf), flink_version="2.3.0")

    assert d_options(argv) == [
        *BASE_D,
        "-Dstate.checkpoints.dir=s3://b/c",
        "-Dcontainerized.master.env.TZ=UTC",
        "-Da.b=1",
    ]


@pytest.mark.parametrize(
    ("fields", "conf", "named"),
    [
        pytest.param(
            {},
            {"kubernetes.container.image.ref": "other:1"},
            ["flink_conf['kubernetes.container.image.ref']", "image (kubernetes.container.image.ref)"],
            id="image",
        ),
        pytest.param(
            {},
            {"kubernetes.container.image": "other:1"},
            [
                "flink_conf['kubernetes.container.image'] (deprecated name of kubernetes.container.image.ref)",
                "image",
            ],
            id="image-deprecated-key",
        ),
        pytest.param(
            {"jobmanager_cpu": 1},
            {"kubernetes.jobmanager.cpu": 2},
            ["flink_conf['kubernetes.jobmanager.cpu']", "jobmanager_cpu (kubernetes.jobmanager.cpu.amount)"],
            id="cpu-deprecated-key",
        ),
        pytest.param(
            {},
            {"execution.shutdown-on-application-finish": "true"},
            ["flink_conf['execution.shutdown-on-application-finish']", "shutdown_on_application_finish"],
            id="shutdown-default",
        ),
        pytest.param(
            {"namespace": "a"},
            {"kubernetes.namespace": "b"},
            ["flink_conf['kubernetes.namespace']", "namespace (kubernetes.namespace)"],
            id="namespace",
        ),
        pytest.param(
            {"parallelism": 4},
            {"parallelism.default": 8},
            ["flink_conf['parallelism.default']", "parallelism = '4'"],
            id="parallelism-flag",
        ),
        pytest.param(
            {"savepoint_path": "s3://b/sp-1"},
            {"execution.state-recovery.path": "s3://b/sp-2"},
            ["flink_conf['execution.state-recovery.path']", "savepoint_path"],
            id="savepoint-2x-key",
        ),
        pytest.param(
            {"savepoint_path": "s3://b/sp-1"},
            {"execution.savepoint.path": "s3://b/sp-2"},
            ["flink_conf['execution.savepoint.path']", "savepoint_path"],
            id="savepoint-1x-key",
        ),
        pytest.param(
            {"py_files": ["/a.py"]},
            {"python.files": "/b.py"},
            ["flink_conf['python.files']", "py_files"],
            id="python-files",
        ),
        pytest.param(
            {},
            {"kubernetes.jobmanager.cpu": 1, "kubernetes.jobmanager.cpu.amount": 2},
            ["kubernetes.jobmanager.cpu.amount", "keep one of them"],
            id="old-and-new-key-both-in-flink-conf",
        ),
    ],
)
def test_flink_conf_contradicting_a_typed_option_is_an_error_naming_both(fields, conf, named):
    spec = jar_spec(**fields, flink_conf=conf)

    with pytest.raises(NativeSpecError, match="conflicts with") as error:
        build_flink_run_argv(spec, flink_version="2.3.0")

    for text in named:
        assert text in str(error.value)


@pytest.mark.parametrize(
    ("fields", "conf", "option"),
    [
        pytest.param({}, {"kubernetes.container.image.ref": "flink:2.3"}, BASE_D[1], id="image"),
        pytest.param({}, {"kubernetes.container.image": "flink:2.3"}, BASE_D[1], id="deprecated-key"),
        pytest.param(
            {"jobmanager_cpu": 1},
            {"kubernetes.jobmanager.cpu.amount": "1.0"},
            "-Dkubernetes.jobmanager.cpu.amount=1",
            id="same-number",
        ),
        pytest.param({}, {"execution.shutdown-on-application-finish": "FALSE"}, BASE_D[2], id="bool-any-case"),
    ],
)
def test_flink_conf_agreeing_with_a_typed_option_is_sent_once(fields, conf, option):
    argv = build_flink_run_argv(jar_spec(**fields, flink_conf=conf), flink_version="2.3.0")

    key = option.split("=", 1)[0]
    assert [item for item in argv if item.split("=", 1)[0] == key] == [option]


def test_flink_conf_agreeing_with_a_cli_flag_leaves_it_to_the_flag():
    argv = build_flink_run_argv(jar_spec(parallelism=4, flink_conf={"parallelism.default": "4"}), flink_version="2.3.0")

    assert d_options(argv) == BASE_D
    assert argv[-3:] == ["-p", "4", JAR]


@pytest.mark.parametrize(
    ("conf", "option"),
    [
        ({"parallelism.default": 8}, "-Dparallelism.default=8"),
        ({"python.files": "/opt/deps.zip"}, "-Dpython.files=/opt/deps.zip"),
        ({"execution.state-recovery.path": "s3://b/sp"}, "-Dexecution.state-recovery.path=s3://b/sp"),
        ({"execution.target": "kubernetes-application"}, None),
    ],
)
def test_flink_conf_may_set_what_an_unset_cli_flag_would(conf, option):
    argv = build_flink_run_argv(jar_spec(flink_conf=conf), flink_version="2.3.0")

    assert d_options(argv) == BASE_D + ([option] if option else [])


def test_flink_conf_cannot_change_the_deployment_target():
    with pytest.raises(NativeSpecError, match="always deploys to kubernetes-application"):
        build_flink_run_argv(jar_spec(flink_conf={"execution.target": "local"}), flink_version="2.3.0")


@pytest.mark.parametrize("flink_version", ["1.19.1", "2.3.0"])
def test_option_key_that_is_a_prefix_of_another_is_refused_where_config_yaml_nests_keys(flink_version):
    conf = {"metrics.reporter.prom": "x", "metrics.reporter.prom.port": "9249"}

    with pytest.raises(NativeSpecError, match="nested YAML") as error:
        build_flink_run_argv(jar_spec(flink_conf=conf), flink_version=flink_version)

    assert "metrics.reporter.prom.port" in str(error.value)


def test_option_key_that_is_a_prefix_of_another_is_accepted_by_line_based_flink_conf_yaml():
    conf = {"metrics.reporter.prom": "x", "metrics.reporter.prom.port": "9249"}

    argv = build_flink_run_argv(jar_spec(flink_conf=conf), flink_version="1.18.1")

    assert "-Dmetrics.reporter.prom=x" in argv


# ---------------------------------------------------------------------------------------------------
# Python jobs
# ---------------------------------------------------------------------------------------------------


def test_python_file_job_with_every_python_option():
    spec = py_spec(
        py_files=["/opt/flink/usrlib/lib.zip", "/opt/flink/usrlib/util.py"],
        py_archives=["/opt/venv.zip#venv", "/opt/data.zip"],
        py_requirements="/opt/requirements.txt#/opt/cache",
        py_client_executable="/usr/bin/python3",
        py_executable="venv/bin/python",
        parallelism=2,
        program_args=["--input", "s3://b/in"],
    )

    argv = build_flink_run_argv(spec, flink_version="2.3.0")

    assert argv == [
        "flink",
        "run",
        "--target",
        "kubernetes-application",
        *BASE_D,
        "-p",
        "2",
        "-pyfs",
        "/opt/flink/usrlib/lib.zip,/opt/flink/usrlib/util.py",
        "-pyarch",
        "/opt/venv.zip#venv,/opt/data.zip",
        "-pyreq",
        "/opt/requirements.txt#/opt/cache",
        "-pyclientexec",
        "/usr/bin/python3",
        "-pyexec",
        "venv/bin/python",
        "-py",
        "/opt/flink/usrlib/job.py",
        "--",
        "--",
        "--input",
        "s3://b/in",
    ]


@pytest.mark.parametrize(
    ("fields", "tail"),
    [
        pytest.param(
            {"py_module": "word_count", "py_files": ["/opt/wc.py"]},
            ["-pyfs", "/opt/wc.py", "-pym", "word_count"],
            id="module-with-files",
        ),
        pytest.param({"py_module": "jobs.daily"}, ["-pym", "jobs.daily"], id="module-installed-in-image"),
        pytest.param({"py_file": "/opt/job.py"}, ["-py", "/opt/job.py"], id="file-without-args"),
        pytest.param(
            {"py_module": "m", "program_args": ["-p", "5"]},
            ["-pym", "m", "--", "--", "-p", "5"],
            id="args-that-look-like-flink-options",
        ),
    ],
)
def test_python_entry_point_forms(fields, tail):
    spec = NativeJobSpec(**BASE, **fields)

    argv = build_flink_run_argv(spec, flink_version="1.19.1")

    assert argv[:4] == ["flink", "run-application", "--target", "kubernetes-application"]
    assert argv[4 + len(BASE_D) :] == tail


def test_jar_job_with_python_udf_dependencies_puts_them_before_the_jar():
    argv = build_flink_run_argv(jar_spec(py_files=["/opt/udfs.zip"], program_args=["x"]), flink_version="2.3.0")

    assert argv[-4:] == ["-pyfs", "/opt/udfs.zip", JAR, "x"]


def test_savepoint_restore_uses_cli_flags_that_every_version_translates_itself():
    spec = jar_spec(savepoint_path="s3://b/savepoints/sp-1", allow_non_restored_state=True)

    argv = build_flink_run_argv(spec, flink_version="1.17.2")

    assert argv[-4:] == ["-s", "s3://b/savepoints/sp-1", "-n", JAR]


# ---------------------------------------------------------------------------------------------------
# Program arguments
# ---------------------------------------------------------------------------------------------------


def test_program_args_follow_the_jar_verbatim_even_when_they_look_like_options():
    args = [
        "-p",
        "5",
        "--",
        "-Dx=y",
        "",
        "with space",
        "semi;colon",
        "quote'single",
        'quote"double',
        "--help",
    ]

    argv = build_flink_run_argv(jar_spec(program_args=args), flink_version="1.17.2")

    assert argv[argv.index(JAR) + 1 :] == args


@pytest.mark.parametrize(
    "arg",
    ["SELECT 1;\nSELECT 2;", "hash#tag", "  leading", "trailing ", "tab\there", "crlf\r\n"],
)
@pytest.mark.parametrize("flink_version", ["1.19.1", "2.3.0"])
def test_program_arg_that_config_yaml_keeps_is_accepted_from_1_19(arg, flink_version):
    argv = build_flink_run_argv(jar_spec(program_args=[arg]), flink_version=flink_version)

    assert argv[-1] == arg


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        ("SELECT 1;\nSELECT 2;", "line break"),
        ("cr\rhere", "line break"),
        ("hash#tag", "'#'"),
        ("  leading", "whitespace"),
        ("trailing ", "whitespace"),
    ],
)
@pytest.mark.parametrize("flink_version", ["1.17.2", "1.18.1"])
def test_program_arg_line_based_flink_conf_yaml_would_corrupt_is_refused(arg, problem, flink_version):
    with pytest.raises(NativeSpecError, match=re.escape(problem)) as error:
        build_flink_run_argv(jar_spec(program_args=["ok", arg]), flink_version=flink_version)

    assert "program_args[1]" in str(error.value)


@pytest.mark.parametrize("flink_version", ["1.17.2", "2.3.0"])
def test_program_arg_with_nul_is_refused(flink_version):
    with pytest.raises(NativeSpecError, match="NUL"):
        build_flink_run_argv(jar_spec(program_args=["a\x00b"]), flink_version=flink_version)


# ---------------------------------------------------------------------------------------------------
# Injection and values that would not reach the JobManager intact
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        pytest.param({"my.option": "a\nkubernetes.namespace: evil"}, "line break", id="newline-in-value"),
        pytest.param({"my.option": "a\rb"}, "line break", id="cr-in-value"),
        pytest.param({"my.option": "a\x00b"}, "NUL", id="nul-in-value"),
        pytest.param({"my.option": "a\x1b[31m"}, "control character", id="escape-in-value"),
        pytest.param({"my.option\nother": "x"}, "not a Flink option key", id="newline-in-key"),
        pytest.param({"a b": "x"}, "not a Flink option key", id="space-in-key"),
        pytest.param({"a=b": "x"}, "not a Flink option key", id="equals-in-key"),
        pytest.param({"-Dx": "y"}, "not a Flink option key", id="dash-d-key"),
        pytest.param({".a": "x"}, "not a Flink option key", id="leading-dot"),
        pytest.param({"a..b": "x"}, "not a Flink option key", id="double-dot"),
        pytest.param({"a.": "x"}, "not a Flink option key", id="trailing-dot"),
        pytest.param({"": "x"}, "not a Flink option key", id="empty-key"),
        pytest.param({"$internal.application.main": "x"}, "internal to Flink", id="internal-key"),
        pytest.param({5: "x"}, "must be a string", id="non-string-key"),
        pytest.param({"a.b": None}, "string, number or boolean", id="none-value"),
        pytest.param({"a.b": ["x", "y"]}, "write lists as 'a;b'", id="list-value"),
    ],
)
@pytest.mark.parametrize("flink_version", ["1.17.2", "2.3.0"])
def test_unsafe_dynamic_property_is_refused(conf, problem, flink_version):
    with pytest.raises(NativeSpecError, match=re.escape(problem)):
        build_flink_run_argv(jar_spec(flink_conf=conf), flink_version=flink_version)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"kube_context": "ctx\nx"}, "line break", id="typed-value-newline"),
        pytest.param({"kubeconfig_path": "/a\x00b"}, "NUL", id="typed-value-nul"),
        pytest.param({"savepoint_path": "s3://b/sp\n"}, "line break", id="savepoint-newline"),
        pytest.param({"py_requirements": "req.txt\n"}, "line break", id="python-option-newline"),
    ],
)
def test_typed_value_with_a_line_break_or_nul_is_refused(fields, problem):
    with pytest.raises(NativeSpecError, match=problem):
        build_flink_run_argv(jar_spec(**fields), flink_version="2.3.0")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"flink_conf": {"my.option": "a#b"}}, "'#'", id="hash-in-value"),
        pytest.param({"flink_conf": {"my.option": " a"}}, "whitespace", id="leading-space"),
        pytest.param({"flink_conf": {"my.option": ""}}, "empty", id="empty-value"),
        pytest.param({"py_archives": ["/opt/venv.zip#venv"]}, "'#'", id="pyarch-target-dir"),
        pytest.param({"jar": "local:///opt/job#1.jar"}, "'#'", id="hash-in-jar"),
        pytest.param({"kube_context": "ctx#1"}, "'#'", id="hash-in-typed-option"),
    ],
)
def test_value_cut_by_line_based_flink_conf_yaml_is_refused_before_1_19(fields, problem):
    spec = jar_spec(**fields)

    with pytest.raises(NativeSpecError, match=re.escape(problem)) as error:
        build_flink_run_argv(spec, flink_version="1.18.1")
    assert "Flink 1.18.1" in str(error.value)

    build_flink_run_argv(spec, flink_version="1.19.1")


# ---------------------------------------------------------------------------------------------------
# Spec validation
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({}, "set exactly one of jar, py_file or py_module", id="no-program"),
        pytest.param({"jar": JAR, "py_file": "/a.py"}, "sets jar and py_file", id="jar-and-py-file"),
        pytest.param({"py_file": "/a.py", "py_module": "m"}, "sets py_file and py_module", id="py-file-and-module"),
        pytest.param(
            {"jar": JAR, "py_file": "/a.py", "py_module": "m"}, "sets jar and py_file and py_module", id="all"
        ),
    ],
)
def test_exactly_one_entry_point_is_required(fields, problem):
    with pytest.raises(NativeSpecError, match=re.escape(problem)):
        NativeJobSpec(**BASE, **fields)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"cluster_id": "WordCount"}, "contains uppercase letters", id="cluster-id"),
        pytest.param({"image": ""}, "image is empty", id="empty-image"),
        pytest.param({"image": "flink:2.3 --evil"}, "contains whitespace", id="image-with-space"),
        pytest.param({"image": None}, "image must be a string", id="no-image"),
        pytest.param({"namespace": "Flink_Jobs"}, "not a Kubernetes namespace name", id="namespace"),
        pytest.param({"image_pull_policy": "always"}, "Always, IfNotPresent, Never", id="pull-policy"),
        pytest.param({"image_pull_secrets": "regcred"}, "must be a list of strings", id="pull-secrets-str"),
        pytest.param({"image_pull_secrets": ["a;b"]}, "not a Secret name", id="pull-secret-semicolon"),
        pytest.param({"service_account": "Flink SA"}, "not a ServiceAccount name", id="service-account"),
        pytest.param({"jobmanager_cpu": 0}, "positive number of CPUs", id="cpu-zero"),
        pytest.param({"taskmanager_cpu": float("nan")}, "positive number of CPUs", id="cpu-nan"),
        pytest.param({"taskmanager_cpu": "1"}, "number of CPUs", id="cpu-string"),
        pytest.param({"jobmanager_cpu": True}, "number of CPUs", id="cpu-bool"),
        pytest.param({"jobmanager_memory": "2Gi"}, "Flink memory size", id="memory-k8s-units"),
        pytest.param({"taskmanager_memory": 2048}, "Flink memory size", id="memory-int"),
        pytest.param({"task_slots": 0}, "positive integer", id="slots-zero"),
        pytest.param({"parallelism": 1.5}, "positive integer", id="parallelism-float"),
        pytest.param({"parallelism": True}, "positive integer", id="parallelism-bool"),
        pytest.param({"rest_service_exposed_type": "Ingress"}, "ClusterIP, NodePort, LoadBalancer", id="rest-type"),
        pytest.param({"shutdown_on_application_finish": "false"}, "True or False", id="shutdown-str"),
        pytest.param({"flink_conf": [("a", "b")]}, "flink_conf must be a mapping", id="flink-conf-list"),
        pytest.param({"pod_template_file": ""}, "pod_template_file is empty", id="empty-template"),
        pytest.param({"jar": "/opt/job.jar"}, "is not a URI", id="jar-without-scheme"),
        pytest.param({"entry_class": "a b"}, "contains whitespace", id="entry-class-space"),
        pytest.param({"program_args": "--input a"}, "must be a list of strings", id="args-as-string"),
        pytest.param({"program_args": ["--n", 5]}, "program_args[1] must be a string", id="arg-not-string"),
        pytest.param(
            {"allow_non_restored_state": True},
            "only applies when starting from a savepoint_path",
            id="n-flag",
        ),
    ],
)
def test_invalid_jar_spec_field_is_named_in_the_error(fields, problem):
    with pytest.raises(NativeSpecError, match=re.escape(problem)):
        jar_spec(**fields)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"entry_class": "Main"}, "entry_class is for jar jobs", id="entry-class"),
        pytest.param({"py_file": "/opt/job.txt"}, "must end with '.py'", id="not-py"),
        pytest.param({"py_file": None, "py_module": "my-module"}, "dotted Python module name", id="bad-module"),
        pytest.param({"py_files": "/a.py"}, "must be a list of strings", id="py-files-str"),
        pytest.param({"py_files": ["/a.py,/b.py"]}, "contains ','", id="comma-in-py-files"),
        pytest.param({"py_archives": [""]}, "py_archives[0] is empty", id="empty-archive"),
    ],
)
def test_invalid_python_spec_field_is_named_in_the_error(fields, problem):
    with pytest.raises(NativeSpecError, match=re.escape(problem)):
        py_spec(**fields)


def test_spec_is_immutable_and_replace_revalidates():
    spec = jar_spec()

    with pytest.raises(AttributeError):
        spec.image = "other"  # type: ignore[misc]
    with pytest.raises(NativeSpecError):
        replace(spec, cluster_id="Bad")


def test_argv_is_a_list_of_strings_for_a_process_without_shell():
    spec = py_spec(parallelism=3, task_slots=2, jobmanager_cpu=1, program_args=["$(rm -rf /)", "`id`", "a;b|c"])

    argv = build_flink_run_argv(spec, flink_version="2.3.0")

    assert all(isinstance(item, str) for item in argv)
    assert argv[-3:] == ["$(rm -rf /)", "`id`", "a;b|c"]


# ---------------------------------------------------------------------------------------------------
# Cluster ids
# ---------------------------------------------------------------------------------------------------

CLUSTER_ID_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def test_cluster_id_is_deterministic_so_a_retry_finds_its_cluster():
    first = derive_cluster_id("etl", "load", "scheduled__2024-01-01T00:00:00+00:00", 3)
    retry = derive_cluster_id("etl", "load", "scheduled__2024-01-01T00:00:00+00:00", 3)

    assert first == retry


def test_cluster_id_has_a_readable_prefix():
    assert derive_cluster_id("etl", "load", "r1").startswith("etl-load-")


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(("etl", "load", "r2", -1), id="other-run"),
        pytest.param(("etl", "load", "r1", 0), id="mapped-instance"),
        pytest.param(("etl", "store", "r1", -1), id="other-task"),
        pytest.param(("etl2", "load", "r1", -1), id="other-dag"),
        pytest.param(("etl-load", "", "r1", -1), id="same-slug-other-split"),
        pytest.param(("etl", "load", "r1 ", -1), id="run-id-differs-in-a-space"),
    ],
)
def test_cluster_id_differs_for_another_run_task_or_map_index(other):
    assert derive_cluster_id("etl", "load", "r1", -1) != derive_cluster_id(*other)


def test_cluster_ids_of_many_mapped_instances_are_all_distinct():
    ids = {derive_cluster_id("dag", "task", "run", index) for index in range(-1, 2000)}

    assert len(ids) == 2001


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [
        ("My_Very.Long-DAG id with ünïcödé and $ymbols!!!" * 3, "group.sub_group.Task__Name" * 4),
        ("2024_daily", "7load"),
        ("___", "..."),
        ("", ""),
        ("数据管道", "任务"),
        ("a" * 200, "b"),
        ("a", "b" * 200),
        ("UPPER", "CASE"),
    ],
)
@pytest.mark.parametrize("max_len", [16, 30, CLUSTER_ID_MAX_LENGTH])
def test_cluster_id_from_ugly_ids_is_valid_and_short_enough(dag_id, task_id, max_len):
    cluster_id = derive_cluster_id(dag_id, task_id, "manual__2024-05-01T10:00:00.123+00:00", 7, max_len=max_len)

    assert CLUSTER_ID_RE.fullmatch(cluster_id)
    assert len(cluster_id) <= max_len
    validate_cluster_id(cluster_id)


def test_long_dag_id_leaves_room_for_the_task_id():
    assert "-load-" in derive_cluster_id("x" * 100, "load", "r")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_len": 46}, "between 16 and 45"),
        ({"max_len": 15}, "between 16 and 45"),
        ({"max_len": "45"}, "max_len must be an integer"),
        ({"map_index": "0"}, "map_index must be an integer"),
        ({"run_id": None}, "run_id must be a string"),
    ],
)
def test_derive_cluster_id_refuses_bad_arguments(kwargs, problem):
    arguments: dict[str, Any] = {"dag_id": "d", "task_id": "t", "run_id": "r", **kwargs}

    with pytest.raises(NativeSpecError, match=problem):
        derive_cluster_id(**arguments)


@pytest.mark.parametrize("cluster_id", ["a", "wordcount", "word-count-2", "a" * 45, "x9"])
def test_valid_cluster_id_passes(cluster_id):
    validate_cluster_id(cluster_id)


@pytest.mark.parametrize(
    ("cluster_id", "problem"),
    [
        ("", "is empty"),
        ("a" * 46, "is 46 characters long, more than 45"),
        ("WordCount", "contains uppercase letters"),
        ("word_count", "contains '_'"),
        ("word.count v2", "contains ' ', '.'"),
        ("2nd-job", "starts with '2' instead of a lowercase letter"),
        ("-job", "starts with '-'"),
        ("job-", "ends with '-'"),
        ("café", "contains 'é'"),
        (42, "must be a string"),
    ],
)
def test_invalid_cluster_id_error_says_what_is_wrong(cluster_id, problem):
    with pytest.raises(NativeSpecError, match=re.escape(problem)):
        validate_cluster_id(cluster_id)


# ---------------------------------------------------------------------------------------------------
# `flink --version` output
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("Version: 2.3.0, Commit ID: c0f8d1a\n", "2.3.0"),
        ("Version: 1.17.2, Commit ID: c0027e5", "1.17.2"),
        ("Version: 2.1-SNAPSHOT, Commit ID: DeadD0d0\n", "2.1-SNAPSHOT"),
        (
            "WARNING: An illegal reflective access\nSLF4J: No providers\nVersion: 1.20.3, Commit ID: x\n",
            "1.20.3",
        ),
    ],
)
def test_version_is_read_from_flink_version_output(output, version):
    assert parse_flink_version(output) == version


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("", "No 'Version:'"),
        ("Error: JAVA_HOME is not set and no 'java' command could be found", "No 'Version:'"),
        ("Version: <unknown>, Commit ID: DeadD0d0", "not understood"),
    ],
)
def test_output_without_a_version_is_an_error(output, problem):
    with pytest.raises(NativeSpecError, match=problem):
        parse_flink_version(output)


# ---------------------------------------------------------------------------------------------------
# Secrets in logs
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("s3.secret-key", True),
        ("s3.access-key", True),
        ("fs.azure.account.key.acct.blob.core.windows.net", True),
        ("security.ssl.keystore-password", True),
        ("metrics.reporter.dghttp.apikey", True),
        ("kafka.sasl.jaas.config", True),
        ("my.api-key", True),
        ("gcp.credentials", True),
        ("Some.TOKEN", True),
        ("kubernetes.namespace", False),
        ("state.checkpoints.dir", False),
        ("taskmanager.numberOfTaskSlots", False),
    ],
)
def test_sensitive_option_keys_are_recognised(key, sensitive):
    assert is_sensitive_key(key) is sensitive


def test_masked_argv_hides_sensitive_options_and_given_secrets_without_changing_the_command():
    spec = jar_spec(
        flink_conf={"s3.secret-key": "hunter2", "s3.endpoint": "http://minio:9000"},
        program_args=["--db-password", "pa55", "--table", "t"],
    )
    argv = build_flink_run_argv(spec, flink_version="2.3.0")
    original = list(argv)

    masked = mask_argv(argv, secrets=["pa55", ""])

    assert argv == original
    assert "-Ds3.secret-key=***" in masked
    assert "-Ds3.endpoint=http://minio:9000" in masked
    assert masked[-4:] == ["--db-password", "***", "--table", "t"]
    assert not any("hunter2" in item or "pa55" in item for item in masked)


def test_sensitive_values_are_listed_for_airflows_secrets_masker():
    argv = build_flink_run_argv(
        jar_spec(flink_conf={"s3.secret-key": "hunter2", "s3.access-key": "AKIA1", "a.b": "c"}),
        flink_version="2.3.0",
    )

    assert sensitive_values(argv) == ["hunter2", "AKIA1"]
