"""schedules.extract_schedules: orchestrators, schedules and what they run."""

from __future__ import annotations

from mlscore.facts.schedules import ScheduleFacts, extract_schedules, wanted

from .conftest import make_repo


def facts(files: dict[str, str]) -> ScheduleFacts:
    return extract_schedules(*make_repo(files))


def summary(f: ScheduleFacts) -> list[tuple]:
    return [(e.file, e.line, e.system, e.name, e.trigger, e.cron, e.enabled) for e in f.entries]


AIRFLOW = '''
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from great_expectations_provider.operators.great_expectations import GreatExpectationsOperator

from pipeline.train import train_model

with DAG("retrain", schedule_interval="0 4 * * *", start_date=datetime(2024, 1, 1)) as dag:
    pull = BashOperator(task_id="pull", bash_command="dvc pull && python scripts/prepare.py")
    validate = GreatExpectationsOperator(task_id="validate", checkpoint_name="daily")
    train = PythonOperator(task_id="train", python_callable=train_model)
'''


def test_airflow_dag_schedule_operators_and_commands() -> None:
    f = facts({"dags/retrain.py": AIRFLOW})
    assert summary(f) == [("dags/retrain.py", 9, "airflow", "retrain", "schedule", "0 4 * * *", True)]
    e = f.entries[0]
    assert [(c.line, c.argv) for c in e.commands] == [(10, ("dvc", "pull")), (10, ("python", "scripts/prepare.py"))]
    assert e.tasks == ("BashOperator:pull", "GreatExpectationsOperator:validate", "PythonOperator:train")
    assert e.python_files == ("dags/retrain.py",)


def test_airflow_schedule_none_is_a_pipeline_and_decorator_form() -> None:
    src = ("from airflow.decorators import dag, task\n\nSCHEDULE = None\n\n"
           "@dag(schedule=SCHEDULE)\ndef adhoc():\n    @task\n    def step():\n        pass\n\n"
           "@dag(dag_id='hourly', schedule=timedelta(hours=1))\ndef hourly():\n    pass\n")
    assert summary(facts({"dags/a.py": src})) == [
        ("dags/a.py", 6, "airflow", "adhoc", "pipeline", None, True),
        ("dags/a.py", 12, "airflow", "hourly", "schedule", "timedelta(hours=1)", True),
    ]


def test_prefect_dagster_kubeflow_metaflow() -> None:
    files = {
        "flows/prefect_flow.py": ("from prefect import flow, task\n\n@task\ndef load():\n    pass\n\n"
                                  "@flow\ndef nightly():\n    load()\n\n"
                                  "if __name__ == '__main__':\n    nightly.serve(name='n', cron='0 1 * * *')\n"),
        "orchestration/defs.py": ("from dagster import asset, ScheduleDefinition, define_asset_job, DefaultScheduleStatus\n\n"
                                  "@asset\ndef features():\n    pass\n\n"
                                  "job = define_asset_job('all_assets')\n"
                                  "sched = ScheduleDefinition(job=job, cron_schedule='0 0 * * *')\n"
                                  "off = ScheduleDefinition(job=job, cron_schedule='0 6 * * *', "
                                  "default_status=DefaultScheduleStatus.STOPPED)\n"),
        "pipelines/kfp_pipe.py": ("from kfp import dsl\n\n@dsl.pipeline(name='train-pipeline')\n"
                                  "def pipe():\n    pass\n"),
        "flows/mf.py": ("from metaflow import FlowSpec, step, schedule\n\n@schedule(daily=True)\n"
                        "class TrainFlow(FlowSpec):\n    @step\n    def start(self):\n        self.next(self.end)\n"),
        "src/util.py": "def f():\n    return 1\n",
    }
    got = summary(facts(files))
    assert got == [
        ("flows/mf.py", 4, "metaflow", "metaflow schedule", "schedule", "schedule(daily=True)", True),
        ("flows/prefect_flow.py", 12, "prefect", "prefect schedule", "schedule", "0 1 * * *", True),
        ("orchestration/defs.py", 8, "dagster", "dagster schedule", "schedule", "0 0 * * *", True),
        ("orchestration/defs.py", 9, "dagster", "dagster schedule", "schedule", "0 6 * * *", False),
        ("pipelines/kfp_pipe.py", 4, "kubeflow", "train-pipeline", "pipeline", None, True),
    ]


def test_tfx_components() -> None:
    src = ("from tfx import v1 as tfx\n\ndef create():\n    gen = tfx.components.CsvExampleGen(input_base='d')\n"
           "    stats = tfx.components.StatisticsGen(examples=gen.outputs['examples'])\n"
           "    schema = tfx.components.SchemaGen(statistics=stats.outputs['statistics'])\n"
           "    val = tfx.components.ExampleValidator(statistics=stats.outputs['statistics'], "
           "schema=schema.outputs['schema'])\n"
           "    return tfx.dsl.Pipeline(pipeline_name='p', components=[gen, stats, schema, val])\n")
    f = facts({"tfx_pipeline.py": src})
    assert summary(f) == [("tfx_pipeline.py", 8, "tfx", "p", "pipeline", None, True)]
    assert f.entries[0].tasks == ("CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator")


K8S = """
apiVersion: batch/v1
kind: CronJob
metadata:
  name: drift-check
spec:
  schedule: "*/30 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: check
              image: ghcr.io/acme/monitor:1.2.0
              command: ["python", "/app/monitoring/drift.py"]
              args: ["--threshold", "0.2"]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: retrain
spec:
  schedule: "0 0 * * 0"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: train
              image: acme/train:latest
              command: ["/bin/sh", "-c", "python train.py && python push.py"]
"""

ARGO = """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly-eval
spec:
  schedule: "0 2 * * *"
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        container:
          image: acme/eval:1.0
          command: [python, eval/evaluate.py]
      - name: report
        script:
          image: python:3.11
          command: [bash]
          source: |
            python eval/report.py
"""


def test_kubernetes_cronjobs_and_argo() -> None:
    f = facts({"k8s/cron.yaml": K8S, "argo/nightly.yaml": ARGO, "k8s/deploy.yaml": "kind: Deployment\n"})
    assert summary(f) == [
        ("argo/nightly.yaml", 1, "argo", "nightly-eval", "schedule", "0 2 * * *", True),
        ("k8s/cron.yaml", 1, "kubernetes", "drift-check", "schedule", "*/30 * * * *", True),
        ("k8s/cron.yaml", 17, "kubernetes", "retrain", "schedule", "0 0 * * 0", False),
    ]
    argo, drift, retrain = f.entries
    assert [(c.line, c.argv) for c in argo.commands] == [(13, ("python", "eval/evaluate.py")),
                                                         (19, ("python", "eval/report.py"))]
    assert drift.commands[0].argv == ("python", "/app/monitoring/drift.py", "--threshold", "0.2")
    assert drift.tasks == ("ghcr.io/acme/monitor:1.2.0",)
    assert retrain.commands[0].argv == ("/bin/sh", "-c", "python train.py && python push.py")


def test_prefect_yaml_crontab_and_dvc() -> None:
    files = {
        "prefect.yaml": ("deployments:\n  - name: daily\n    entrypoint: flows/etl.py:etl\n    schedules:\n"
                         "      - cron: '0 3 * * *'\n        active: false\n"),
        "flows/etl.py": "",
        "ops/crontab": "# m h dom mon dow command\nSHELL=/bin/bash\n0 5 * * 1 cd /srv && python retrain.py\n",
        "dvc.yaml": ("stages:\n  train:\n    cmd: python src/train.py\n    deps:\n      - src/train.py\n"
                     "    outs:\n      - model.pkl\n    metrics:\n      - metrics.json:\n          cache: false\n"
                     "    params:\n      - train.lr\n"),
        "params.yaml": "train:\n  lr: 0.1\n",
    }
    f = facts(files)
    assert summary(f) == [
        ("dvc.yaml", 2, "dvc", "train", "pipeline", None, True),
        ("ops/crontab", 3, "cron", "cd /srv && python retrain.py", "schedule", "0 5 * * 1", True),
        ("prefect.yaml", 2, "prefect", "daily", "schedule", "0 3 * * *", False),
    ]
    stage = f.dvc[0]
    assert (stage.cmd, stage.cmd_line, stage.deps, stage.outs, stage.metrics, stage.params) == (
        "python src/train.py", 3, ("src/train.py",), ("model.pkl",), ("metrics.json",), ("train.lr",))
    assert f.params_files == ("params.yaml",)
    assert f.entries[1].commands[0].argv == ("python", "retrain.py")
    assert f.entries[2].python_files == ("flows/etl.py",)


def test_hostile_inputs() -> None:
    f = facts({"dags/broken.py": "from airflow import DAG\nwith DAG(\n", "k8s/bad.yaml": "kind: CronJob\nspec: [",
               "plain.py": "def f(:\n"})
    assert f.entries == ()
    assert sorted((d.path, d.message[:20]) for d in f.diagnostics) == [
        ("dags/broken.py", "Python file with orc"), ("k8s/bad.yaml", "malformed YAML at li")]


def test_wanted() -> None:
    assert all(wanted(p) for p in ["dvc.yaml", "sub/dvc.yaml", "params.yaml", "dags/x.py", "k8s/cron.yaml",
                                   "prefect.yaml", "ops/crontab", "etc/cron.d/retrain"])
    assert not any(wanted(p) for p in [".github/workflows/ci.yml", "README.md", "dvc.lock", "data.csv"])


def test_prefect_deployment_of_an_imported_flow_names_the_flow_module() -> None:
    files = {
        "batch/score.py": "from prefect import flow\n\n@flow\ndef ride_duration_prediction():\n    pass\n",
        "batch/score_deploy.py": ("from prefect.deployments import Deployment\n"
                                  "from prefect.orion.schemas.schedules import CronSchedule\n"
                                  "from score import ride_duration_prediction\n\n"
                                  "deployment = Deployment.build_from_flow(\n    flow=ride_duration_prediction,\n"
                                  "    name='d',\n    schedule=CronSchedule(cron='0 3 2 * *'),\n)\n"),
    }
    f = facts(files)
    sched = [e for e in f.entries if e.trigger == "schedule"]
    assert [(e.file, e.line, e.cron, e.python_files) for e in sched] == [
        ("batch/score_deploy.py", 5, "0 3 2 * *", ("batch/score_deploy.py", "batch/score.py"))]


def test_iac_and_cloud_monitoring_schedules() -> None:
    files = {
        "infra/schedule.tf": ('resource "aws_cloudwatch_event_rule" "nightly" {\n'
                              '  schedule_expression = "cron(0 2 * * ? *)"\n}\n'
                              'resource "aws_cloudwatch_event_rule" "on_upload" {\n  event_pattern = "{}"\n}\n'
                              'resource "google_cloud_scheduler_job" "retrain" {\n  schedule = "0 3 * * 1"\n'
                              '  paused = false\n}\n'),
        "monitor/setup_monitor.py": ("from sagemaker.model_monitor import DefaultModelMonitor, CronExpressionGenerator\n"
                                     "m = DefaultModelMonitor(role='r')\n"
                                     "m.create_monitoring_schedule(endpoint_input='e', "
                                     "schedule_cron_expression=CronExpressionGenerator.hourly())\n"),
    }
    got = [(e.file, e.line, e.system, e.name, e.cron, e.enabled) for e in facts(files).entries]
    assert got == [
        ("infra/schedule.tf", 1, "iac", "nightly", "cron(0 2 * * ? *)", True),
        ("infra/schedule.tf", 7, "iac", "retrain", "0 3 * * 1", True),
        ("monitor/setup_monitor.py", 3, "sagemaker-monitor", "sagemaker-monitor schedule",
         "CronExpressionGenerator.hourly()", True),
    ]
