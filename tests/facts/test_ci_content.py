"""CI found by content wherever it lives (issue 9, "CI not recognised").

Every fixture follows the vendor's documented schema (cited per test), not a real repository:
Cloud Build build config and triggers, Azure Pipelines templates, CodeBuild buildspec with CloudFormation, CDK and
Terraform, Tekton, Drone, Bitbucket Pipelines, Buildkite, GitLab includes, Jenkins, and reusable workflows of
another repository (LABELING.md C7). Negatives: files that merely look alike are not CI.
"""

from __future__ import annotations

import textwrap

import pytest

from mlscore.facts.automation import AutomationModel, build_automation
from mlscore.facts.ci import CiFacts, extract_ci, wanted
from mlscore.facts.schedules import extract_schedules

from .conftest import make_repo


def ci_of(files: dict[str, str]) -> CiFacts:
    paths, read = make_repo(files)
    return extract_ci([p for p in paths if wanted(p)], read)


def model(files: dict[str, str]) -> AutomationModel:
    paths, read = make_repo(files)
    return build_automation(paths, read, extract_ci([p for p in paths if wanted(p)], read),
                            extract_schedules(paths, read))


def runs(m: AutomationModel, path: str) -> list[tuple[tuple[str, ...], bool, str]]:
    return [(r.triggers, r.counts, r.chain_text) for r in m.reaches(path)]


# --------------------------------------------------------------------------------------------- Cloud Build
# cloud.google.com/build/docs/build-config-file-schema: steps of container images (`name`) with args, entrypoint,
# script, dir, allowFailure; gcloud builds triggers import (github push / pullRequest, filename); Terraform
# google_cloudbuild_trigger (github { push {} pull_request {} }, trigger_template, filename, disabled).

CLOUDBUILD = """
steps:
  - name: gcr.io/cloud-builders/docker
    args: ["build", "-t", "us-docker.pkg.dev/$PROJECT_ID/app/api:$SHORT_SHA", "."]
  - name: python:3.11
    id: unit-tests
    entrypoint: bash
    args:
      - -c
      - |
        pip install -r requirements.txt
        python -m pytest tests/unit
  - name: us-central1-docker.pkg.dev/$PROJECT_ID/tools/runner:1
    script: |
      python tools/check_schema.py
options:
  logging: CLOUD_LOGGING_ONLY
timeout: 1200s
"""


def test_cloud_build_config_outside_cloudbuild_yaml_is_ci_submitted_by_hand() -> None:
    files = {"build/pipeline-deploy.yaml": CLOUDBUILD, "tests/unit/test_api.py": "", "tools/check_schema.py": ""}
    (job,) = ci_of(files).jobs
    assert (job.system, job.file, [t.kind for t in job.triggers]) == ("cloudbuild", "build/pipeline-deploy.yaml",
                                                                      ["manual"])
    m = model(files)
    assert runs(m, "tests/unit/test_api.py") == [
        (("ci_manual",), True, "build/pipeline-deploy.yaml:11 -> tests/unit/test_api.py")]
    assert runs(m, "tools/check_schema.py") == [
        (("ci_manual",), True, "build/pipeline-deploy.yaml:14 -> tools/check_schema.py")]


def test_cloud_build_trigger_yaml_and_terraform_connect_configs_to_push_and_pr() -> None:
    files = {
        ".cloudbuild/pr-checks.yml": CLOUDBUILD,
        ".cloudbuild/triggers/pr.yaml": ("name: pr-checks\ngithub:\n  owner: example\n  name: app\n  pullRequest:\n"
                                         "    branch: ^main$\nfilename: .cloudbuild/pr-checks.yml\n"),
        "ci/e2e.yaml": "steps:\n  - name: python:3.11\n    entrypoint: python\n    args: [-m, pytest, tests/e2e]\n",
        "ci/nightly.yaml": "steps:\n  - name: python:3.11\n    args: [python, jobs/retrain.py]\n",
        "infra/triggers.tf": textwrap.dedent('''
            resource "google_cloudbuild_trigger" "e2e" {
              name     = "e2e"
              filename = "ci/e2e.yaml"
              github {
                owner = "example"
                name  = "app"
                push {
                  branch = "^main$"
                }
              }
            }

            resource "google_cloudbuild_trigger" "nightly" {
              name     = "nightly"
              disabled = true
              filename = "ci/nightly.yaml"
              trigger_template {
                branch_name = "main"
                repo_name   = "app"
              }
            }
            '''),
        "tests/unit/test_api.py": "", "tools/check_schema.py": "", "tests/e2e/test_flow.py": "",
        "jobs/retrain.py": "",
    }
    jobs = {j.file: j for j in ci_of(files).jobs}
    assert set(jobs) == {".cloudbuild/pr-checks.yml", "ci/e2e.yaml", "ci/nightly.yaml"}
    assert [t.kind for t in jobs[".cloudbuild/pr-checks.yml"].triggers] == ["pull_request"]
    assert jobs[".cloudbuild/pr-checks.yml"].called_from == (".cloudbuild/triggers/pr.yaml:1",)
    assert [t.kind for t in jobs["ci/e2e.yaml"].triggers] == ["push"]
    assert jobs["ci/nightly.yaml"].disabled
    m = model(files)
    assert [r[0] for r in runs(m, "tests/unit/test_api.py")] == [("ci_pull_request",)]
    assert [r[0] for r in runs(m, "tests/e2e/test_flow.py")] == [("ci_push",)]
    assert m.reaches("jobs/retrain.py") == []  # only a disabled trigger runs it


@pytest.mark.parametrize("text", [
    # an Ansible playbook: tasks are not container steps
    "- hosts: all\n  tasks:\n    - name: run the tests\n      shell: pytest tests\n",
    # a pipeline description of another tool (Kedro-style): steps with inputs and outputs
    "steps:\n  - name: preprocess\n    inputs: [raw]\n    outputs: [clean]\n",
    # GitHub-style steps: `run` is no Cloud Build field and names have spaces
    "steps:\n  - name: Run tests\n    run: pytest tests\n",
    # Buildkite steps outside .buildkite/: label/command are no Cloud Build fields
    "steps:\n  - label: tests\n    command: pytest tests\n",
])
def test_yaml_that_merely_has_steps_is_not_cloud_build(text: str) -> None:
    facts = ci_of({"conf/pipeline.yml": text, "tests/test_a.py": ""})
    assert (facts.jobs, facts.files) == ((), ())


def test_kubernetes_deployment_and_helm_values_are_not_pipelines() -> None:
    deployment = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n"
                  "      containers:\n        - name: api\n          image: '{{ .Values.image }}'\n"
                  "          args: [serve, --port, '8080']\n")
    facts = ci_of({"k8s/deploy.yaml": deployment, "chart/values.yaml": "steps: {{ .Values.steps }}\nargs: []\n"})
    assert facts.jobs == ()


# --------------------------------------------------------------------------------------------- Azure Pipelines
# learn.microsoft.com/azure/devops/pipelines/process/templates: stage, job and step templates with parameters;
# paths relative to the including file, or to the repository root when they start with /; `template: x@repo`
# comes from another repository (LABELING.md C7); trigger: none + pr: none = queued by hand.

AZ_PIPELINE = """
trigger: none
pr: none
pool:
  vmImage: ubuntu-latest
resources:
  repositories:
    - repository: shared-templates
      type: git
      name: shared-templates
stages:
  - template: ../templates/test-stage.yml
    parameters:
      testPath: tests/unit
  - stage: Train
    jobs:
      - template: /ci/templates/train-job.yml
        parameters:
          script: src/train.py
      - job: Submit
        steps:
          - template: templates/run-pipeline.yml@shared-templates
            parameters:
              pipeline_file: mlops/azureml/train/pipeline.yml
"""
AZ_STAGE = """
parameters:
  - name: testPath
    type: string
    default: tests
stages:
  - stage: Test
    jobs:
      - job: Unit
        steps:
          - script: python -m pytest ${{ parameters.testPath }}
"""
AZ_JOB = """
parameters:
  - name: script
    type: string
jobs:
  - job: TrainSmoke
    steps:
      - template: steps/setup.yml
      - bash: python ${{ parameters.script }} --smoke
"""
AZ_FILES = {
    "mlops/devops-pipelines/train.yml": AZ_PIPELINE,
    "mlops/templates/test-stage.yml": AZ_STAGE,
    "ci/templates/train-job.yml": AZ_JOB,
    "ci/templates/steps/setup.yml": "steps:\n  - script: pip install -r requirements.txt\n",
    "mlops/azureml/train/pipeline.yml": ("$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n"
                                         "type: pipeline\njobs:\n  train:\n    type: command\n    code: ../../../src\n"
                                         "    command: >-\n      python train.py --data ${{inputs.data}}\n"),
    "tests/unit/test_features.py": "", "tests/test_other.py": "", "src/train.py": "",
}


def test_azure_pipeline_in_a_custom_folder_with_stage_job_and_step_templates() -> None:
    facts = ci_of(AZ_FILES)
    jobs = {j.id: j for j in facts.jobs}
    assert set(jobs) == {"Unit", "TrainSmoke", "Submit"}  # templates are not pipelines of their own
    assert {t.kind for j in facts.jobs for t in j.triggers} == {"manual"}
    assert (jobs["Unit"].file, jobs["Unit"].called_from) == ("mlops/templates/test-stage.yml",
                                                             ("mlops/devops-pipelines/train.yml:11",))
    assert [c.argv for s in jobs["Unit"].steps for c in s.commands] == [("python", "-m", "pytest", "tests/unit")]
    assert [(s.file, c.argv) for s in jobs["TrainSmoke"].steps for c in s.commands] == [
        ("ci/templates/steps/setup.yml", ("pip", "install", "-r", "requirements.txt")),
        ("ci/templates/train-job.yml", ("python", "src/train.py", "--smoke"))]
    (ext,) = jobs["Submit"].steps
    assert (ext.external, ext.uses.inputs) == (True, {"pipeline_file": "mlops/azureml/train/pipeline.yml"})
    m = model(AZ_FILES)
    assert runs(m, "tests/unit/test_features.py") == [
        (("ci_manual",), True, "mlops/templates/test-stage.yml:10 -> tests/unit/test_features.py")]
    assert m.reaches("tests/test_other.py") == []  # the parameter narrowed the default
    chains = sorted(r.chain_text for r in m.reaches("src/train.py"))
    assert chains == [
        "ci/templates/train-job.yml:8 -> src/train.py",
        # C7: the other repository's template is given this pipeline file; the file is the evidence
        "mlops/devops-pipelines/train.yml:21 -> mlops/azureml/train/pipeline.yml:8 -> src/train.py"]


def test_azure_files_renamed_or_only_included_are_not_pipelines() -> None:
    files = {
        "azure-pipelines.disabled.yml": "trigger: [main]\nsteps:\n  - script: python -m pytest tests\n",
        ".azure-pipelines/ci.yml": "trigger: [main]\njobs:\n  - job: a\n    steps:\n      - template: steps.yml\n",
        ".azure-pipelines/steps.yml": "steps:\n  - script: python tools/lint.py\n",
        "tests/test_a.py": "", "tools/lint.py": "",
    }
    facts = ci_of(files)
    assert [(j.file, j.id) for j in facts.jobs] == [(".azure-pipelines/ci.yml", "a")]
    m = model(files)
    assert m.reaches("tests/test_a.py") == []
    assert [r[0] for r in runs(m, "tools/lint.py")] == [("ci_push",)]


def test_azure_templated_values_and_missing_templates_are_diagnostics() -> None:
    pipe = ("trigger: [main]\njobs:\n  - template: ${{ parameters.jobTemplate }}\n  - template: missing.yml\n"
            "  - job: a\n    steps:\n      - ${{ if eq(parameters.run, true) }}:\n"
            "        - script: python ${{ parameters.entry }}\n      - template: ../../../outside.yml\n")
    facts = ci_of({"azure-pipelines.yml": pipe})
    assert [c.argv for j in facts.jobs for s in j.steps for c in s.commands] == [
        ("python", "${{parameters.entry}}")]
    messages = sorted(d.message.split(" (")[0] for d in facts.diagnostics)
    assert messages == ["Azure template ${{ parameters.jobTemplate }} not found",
                        "Azure template ../../../outside.yml is outside the tree", "Azure template missing.yml not found"]


# --------------------------------------------------------------------------------------------- CodeBuild / CodePipeline
# docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html (version 0.2, phases.*.commands, on-failure,
# finally); AWS::CodeBuild::Project (Source.BuildSpec, Triggers.Webhook/FilterGroups); AWS::CodePipeline::Pipeline
# (Stages.Actions.ActionTypeId Category/Provider, Configuration.ProjectName); CDK aws_codebuild.PipelineProject,
# BuildSpec.from_source_filename / fromObject, aws_codepipeline_actions.CodeBuildAction and CodeCommitSourceAction,
# pipelines.CodePipeline / ShellStep / CodePipelineSource; Terraform aws_codebuild_project (source.buildspec),
# aws_codebuild_webhook (filter_group), aws_codepipeline (stage.action provider/configuration).

BUILDSPEC = """
version: 0.2
phases:
  install:
    commands:
      - pip install -r requirements.txt
  build:
    commands:
      - python -m pytest tests/test_model.py
"""

CDK_PY = """
from aws_cdk import Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions


class PipelineStack(Stack):
    def __init__(self, scope, construct_id, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        repo = codecommit.Repository(self, "Repo", repository_name="model")
        source_output = codepipeline.Artifact()
        project = codebuild.PipelineProject(
            self, "Test",
            build_spec=codebuild.BuildSpec.from_source_filename("buildspec.yml"),
        )
        codepipeline.Pipeline(self, "Pipeline", stages=[
            codepipeline.StageProps(stage_name="Source", actions=[
                actions.CodeCommitSourceAction(action_name="Source", repository=repo, output=source_output)]),
            codepipeline.StageProps(stage_name="Test", actions=[
                actions.CodeBuildAction(action_name="Test", project=project, input=source_output)]),
        ])
"""


def test_buildspec_declared_in_a_cdk_stack_runs_on_push() -> None:
    files = {"infra/cdk.json": '{"app": "python3 app.py"}', "infra/pipeline_stack.py": CDK_PY,
             "buildspec.yml": BUILDSPEC, "tests/test_model.py": ""}
    (job,) = ci_of(files).jobs
    assert (job.system, job.file, [t.kind for t in job.triggers], job.called_from) == (
        "codebuild", "buildspec.yml", ["push"], ("infra/pipeline_stack.py:13",))
    assert runs(model(files), "tests/test_model.py") == [
        (("ci_push",), True, "buildspec.yml:8 -> tests/test_model.py")]


def test_same_buildspec_without_a_pipeline_is_started_by_hand() -> None:
    files = {"buildspec.yml": BUILDSPEC, "tests/test_model.py": ""}
    assert runs(model(files), "tests/test_model.py") == [(("ci_manual",), True, "buildspec.yml:8 -> tests/test_model.py")]
    no_pipeline = CDK_PY.replace("actions.CodeCommitSourceAction", "actions.S3SourceAction")
    files2 = {**files, "infra/cdk.json": "{}", "infra/pipeline_stack.py": no_pipeline}
    assert [r[0] for r in runs(model(files2), "tests/test_model.py")] == [("ci_manual",)]


CDK_TS = """
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { CodePipeline, CodePipelineSource, ShellStep } from 'aws-cdk-lib/pipelines';

export class CiStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const pipeline = new CodePipeline(this, 'Pipeline', {
      synth: new ShellStep('Synth', {
        input: CodePipelineSource.connection('example/app', 'main', { connectionArn: 'arn:aws:x' }),
        commands: ['npm ci', 'npx cdk synth'],
      }),
    });
    pipeline.addStage(new AppStage(this, 'Prod'), {
      pre: [new ShellStep('Validate', {
        commands: [
          'pip install -r requirements.txt',
          'python -m pytest tests/integration',
        ],
      })],
    });
    const nightly = new codebuild.Project(this, 'Nightly', {
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: { build: { commands: ['python scripts/check_data.py'] } },
      }),
    });
  }
}
"""


def test_cdk_pipelines_shell_steps_and_inline_build_specs_in_typescript() -> None:
    files = {"cdk/cdk.json": "{}", "cdk/lib/ci-stack.ts": CDK_TS, "tests/integration/test_api.py": "",
             "scripts/check_data.py": "", "web/src/app.ts": "new ShellStep('x', {commands: ['pytest tests']})"}
    m = model(files)
    assert runs(m, "tests/integration/test_api.py") == [
        (("ci_push",), True, "cdk/lib/ci-stack.ts:17 -> tests/integration/test_api.py")]
    assert runs(m, "scripts/check_data.py") == [(("ci_manual",), True, "cdk/lib/ci-stack.ts:24 -> scripts/check_data.py")]
    assert all(j.file.startswith("cdk/") for j in ci_of(files).jobs)  # TypeScript outside a CDK app is not read


CFN = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  ProjectName: {Type: String}
Resources:
  ModelBuildRepo:
    Type: AWS::CodeCommit::Repository
    Properties:
      RepositoryName: !Sub ${ProjectName}-modelbuild
  ModelBuildProject:
    Type: AWS::CodeBuild::Project
    Properties:
      Source:
        Type: CODEPIPELINE
        BuildSpec: codebuild-buildspec.yml
      Environment: {Type: LINUX_CONTAINER, ComputeType: BUILD_GENERAL1_SMALL, Image: aws/codebuild/standard:7.0}
  LintProject:
    Type: AWS::CodeBuild::Project
    Properties:
      Source:
        Type: GITHUB
        Location: https://github.com/example/app.git
        BuildSpec: |
          version: 0.2
          phases:
            build:
              commands:
                - python tools/lint_data.py
      Triggers:
        Webhook: true
        FilterGroups:
          - - Type: EVENT
              Pattern: PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED
  ModelBuildPipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Stages:
        - Name: Source
          Actions:
            - Name: ModelBuildWorkflowCode
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1"}
              Configuration:
                RepositoryName: !GetAtt ModelBuildRepo.Name
                BranchName: main
        - Name: Build
          Actions:
            - Name: BuildAndExecute
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              Configuration:
                ProjectName: !Ref ModelBuildProject
"""


def test_cloudformation_project_and_pipeline_run_the_seed_codes_buildspec() -> None:
    files = {
        "templates/project.yml": CFN,
        # the CodeCommit repository is seeded from this folder: its buildspec runs from the folder's root
        "seedcode/modelbuild/codebuild-buildspec.yml": ("version: 0.2\nphases:\n  build:\n    commands:\n"
                                                        "      - python pipelines/run_pipeline.py --wait\n"),
        "seedcode/modelbuild/pipelines/run_pipeline.py": "", "tools/lint_data.py": "",
    }
    m = model(files)
    assert runs(m, "seedcode/modelbuild/pipelines/run_pipeline.py") == [
        (("ci_push",), True, "seedcode/modelbuild/codebuild-buildspec.yml:5 -> seedcode/modelbuild/pipelines/run_pipeline.py")]
    assert runs(m, "tools/lint_data.py") == [(("ci_pull_request",), True, "templates/project.yml:27 -> tools/lint_data.py")]


def test_terraform_codebuild_project_webhook_and_codepipeline() -> None:
    tf = textwrap.dedent('''
        resource "aws_codebuild_project" "tests" {
          name         = "model-tests"
          service_role = aws_iam_role.build.arn
          artifacts { type = "CODEPIPELINE" }
          environment {
            compute_type = "BUILD_GENERAL1_SMALL"
            image        = "aws/codebuild/standard:7.0"
            type         = "LINUX_CONTAINER"
          }
          source {
            type      = "CODEPIPELINE"
            buildspec = "ci/buildspec-tests.yml"
          }
        }

        resource "aws_codebuild_project" "pr" {
          name = "pr-checks"
          source {
            type      = "GITHUB"
            location  = "https://github.com/example/app.git"
            buildspec = <<-EOT
              version: 0.2
              phases:
                build:
                  commands:
                    - python -m pytest tests/unit
            EOT
          }
        }

        resource "aws_codebuild_webhook" "pr" {
          project_name = aws_codebuild_project.pr.name
          filter_group {
            filter {
              type    = "EVENT"
              pattern = "PULL_REQUEST_CREATED"
            }
          }
        }
        ''')
    pipeline = textwrap.dedent('''
        resource "aws_codepipeline" "main" {
          name     = "main"
          role_arn = aws_iam_role.pipeline.arn
          stage {
            name = "Source"
            action {
              name     = "Source"
              category = "Source"
              owner    = "AWS"
              provider = "CodeStarSourceConnection"
              version  = "1"
              configuration = {
                ConnectionArn    = aws_codestarconnections_connection.gh.arn
                FullRepositoryId = "example/app"
                BranchName       = "main"
              }
            }
          }
          stage {
            name = "Test"
            action {
              name     = "Test"
              category = "Build"
              owner    = "AWS"
              provider = "CodeBuild"
              version  = "1"
              configuration = {
                ProjectName = aws_codebuild_project.tests.name
              }
            }
          }
        }
        ''')
    files = {"infra/build.tf": tf, "infra/pipeline.tf": pipeline,
             "ci/buildspec-tests.yml": "version: 0.2\nphases:\n  build:\n    commands:\n      - pytest tests/model\n",
             "tests/model/test_m.py": "", "tests/unit/test_u.py": ""}
    m = model(files)
    assert [r[0] for r in runs(m, "tests/model/test_m.py")] == [("ci_push",)]
    assert runs(m, "tests/unit/test_u.py") == [(("ci_pull_request",), True, "infra/build.tf:26 -> tests/unit/test_u.py")]


def test_buildspec_like_yaml_anywhere_swallows_continue_and_finally() -> None:
    spec = ("version: 0.2\nphases:\n  build:\n    on-failure: CONTINUE\n    commands:\n      - pytest tests/a\n"
            "  post_build:\n    commands:\n      - pytest tests/b\n    finally:\n      - python tools/report.py\n")
    files = {"ci/specs/unit.yml": spec, "tests/a/test_a.py": "", "tests/b/test_b.py": "", "tools/report.py": ""}
    m = model(files)
    assert [(r[0], r[1]) for r in runs(m, "tests/a/test_a.py")] == [(("ci_manual",), False)]
    assert [(r[0], r[1]) for r in runs(m, "tests/b/test_b.py")] == [(("ci_manual",), True)]
    assert [r[1] for r in runs(m, "tools/report.py")] == [False]


# --------------------------------------------------------------------------------------------- Tekton
# tekton.dev/docs: Task (steps: image + script | command/args, workingDir, onError), Pipeline (tasks: taskRef,
# taskSpec; finally), TriggerTemplate (resourcetemplates: PipelineRun pipelineRef), EventListener (triggers with
# interceptors: github eventTypes; template.ref).

TEKTON = """
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: unit-tests
spec:
  workspaces:
    - name: source
  steps:
    - name: pytest
      image: python:3.11
      workingDir: $(workspaces.source.path)
      script: |
        #!/usr/bin/env bash
        set -e
        pip install -r requirements.txt
        python -m pytest tests/unit
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: ci
spec:
  tasks:
    - name: test
      taskRef:
        name: unit-tests
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata:
  name: ci-template
spec:
  resourcetemplates:
    - apiVersion: tekton.dev/v1
      kind: PipelineRun
      metadata:
        generateName: ci-run-
      spec:
        pipelineRef:
          name: ci
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata:
  name: github-listener
spec:
  triggers:
    - name: pr
      interceptors:
        - ref:
            name: github
          params:
            - name: eventTypes
              value: ["pull_request"]
      template:
        ref: ci-template
"""


def test_tekton_pipeline_started_by_an_event_listener() -> None:
    files = {"tekton/ci.yaml": TEKTON, "tests/unit/test_u.py": "",
             "tekton/lint-task.yaml": ("apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: lint}\nspec:\n"
                                       "  steps:\n    - name: lint\n      image: python:3.11\n"
                                       "      command: [python, tools/lint.py]\n"),
             "tools/lint.py": ""}
    jobs = {j.id: j for j in ci_of(files).jobs}
    assert set(jobs) == {"ci", "lint"}
    assert [t.kind for t in jobs["ci"].triggers] == ["pull_request"]
    assert [t.kind for t in jobs["lint"].triggers] == ["manual"]
    m = model(files)
    assert runs(m, "tests/unit/test_u.py") == [(("ci_pull_request",), True, "tekton/ci.yaml:16 -> tests/unit/test_u.py")]
    assert [r[0] for r in runs(m, "tools/lint.py")] == [("ci_manual",)]


# --------------------------------------------------------------------------------------------- Drone, Bitbucket, Buildkite
# docs.drone.io/pipeline: kind: pipeline, steps with commands (a failing command fails the pipeline), trigger.event,
# when.event, failure: ignore. support.atlassian.com/bitbucket-cloud (bitbucket-pipelines.yml): pipelines default /
# branches / pull-requests / custom, step script and after-script, parallel, trigger: manual. buildkite.com/docs:
# steps with command/commands, soft_fail, group, wait.

def test_drone_bitbucket_and_buildkite() -> None:
    files = {
        ".drone.yml": ("kind: pipeline\ntype: docker\nname: default\nsteps:\n  - name: test\n    image: python:3.11\n"
                       "    commands:\n      - pip install -r requirements.txt\n      - pytest tests/drone\n"
                       "  - name: eval\n    image: python:3.11\n    failure: ignore\n    commands:\n"
                       "      - python eval.py\ntrigger:\n  event:\n    - pull_request\n"),
        "bitbucket-pipelines.yml": ("image: python:3.11\npipelines:\n  pull-requests:\n    '**':\n      - step:\n"
                                    "          name: tests\n          script:\n            - pytest tests/bb\n"
                                    "          after-script:\n            - python notify.py\n  custom:\n"
                                    "    retrain:\n      - step:\n          script:\n            - python train.py\n"
                                    "  branches:\n    main:\n      - parallel:\n          - step:\n"
                                    "              script:\n                - python lint.py\n      - step:\n"
                                    "          trigger: manual\n          script:\n            - python deploy.py\n"),
        ".buildkite/pipeline.yml": ("steps:\n  - label: ':pytest: tests'\n    commands:\n      - pip install -e .\n"
                                    "      - pytest tests/bk\n  - wait\n  - group: extra\n    steps:\n"
                                    "      - command: python bench.py\n        soft_fail: true\n"),
        "tests/drone/test_d.py": "", "tests/bb/test_b.py": "", "tests/bk/test_k.py": "", "eval.py": "", "notify.py": "",
        "train.py": "", "lint.py": "", "deploy.py": "", "bench.py": "",
    }
    m = model(files)
    got = {p: [(r.triggers, r.counts) for r in m.reaches(p)] for p in sorted(m.reached_paths())}
    assert got == {
        "bench.py": [(("ci_push",), False)],
        "deploy.py": [(("ci_manual",), True)],
        "eval.py": [(("ci_pull_request",), False)],
        "lint.py": [(("ci_push",), True)],
        "notify.py": [(("ci_pull_request",), False)],
        "tests/bb/test_b.py": [(("ci_pull_request",), True)],
        "tests/bk/test_k.py": [(("ci_push",), True)],
        "tests/drone/test_d.py": [(("ci_pull_request",), True)],
        "train.py": [(("ci_manual",), True)],
    }


# --------------------------------------------------------------------------------------------- GitLab, Jenkins
# docs.gitlab.com/ee/ci/yaml/includes: include:local with wildcard paths (`*` within a folder, `**` across them);
# Jenkins declarative pipelines (pipeline { stages { ... } }) may live in any file the job's Script Path names.

def test_gitlab_wildcard_local_includes_and_jenkins_files_in_subfolders() -> None:
    files = {
        ".gitlab-ci.yml": "include:\n  - local: 'ci/jobs/*.yml'\n  - local: /ci/extra/**.yml\n",
        "ci/jobs/test.yml": "unit:\n  script:\n    - pytest tests/gl\n",
        "ci/jobs/deploy.yaml": "deploy:\n  script:\n    - python deploy.py\n",  # GitLab includes .yml only
        "ci/extra/nested/eval.yml": "eval:\n  script: [python eval.py]\n",
        "jenkins/train.groovy": ("pipeline {\n  agent any\n  stages {\n    stage('Train') {\n      steps {\n"
                                 "        sh 'python train.py'\n      }\n    }\n  }\n}\n"),
        "src/util.groovy": "def helper() { return 1 }\n",
        "tests/gl/test_g.py": "", "deploy.py": "", "eval.py": "", "train.py": "",
    }
    m = model(files)
    assert sorted(m.reached_paths()) == ["eval.py", "tests/gl/test_g.py", "train.py"]
    assert {j.file for j in ci_of(files).jobs} == {"ci/jobs/test.yml", "ci/extra/nested/eval.yml",
                                                    "jenkins/train.groovy"}


# --------------------------------------------------------------------------------------------- another repository (C7)

def test_reusable_workflow_of_another_repository_reaches_the_files_its_inputs_name() -> None:
    wf = ("on: workflow_dispatch\njobs:\n  train:\n    uses: example/templates/.github/workflows/run-pipeline.yml@main\n"
          "    with:\n      parameters-file: ml/pipeline.yml\n      script: scripts/smoke.sh\n      tag: v1.2\n")
    files = {".github/workflows/train.yml": wf,
             "ml/pipeline.yml": "type: pipeline\njobs:\n  prep:\n    code: ../src\n    command: python prep.py\n",
             "src/prep.py": "", "scripts/smoke.sh": "python -m pytest tests/smoke\n", "tests/smoke/test_s.py": ""}
    m = model(files)
    assert runs(m, "src/prep.py") == [
        (("ci_manual",), True, ".github/workflows/train.yml:4 -> ml/pipeline.yml:5 -> src/prep.py")]
    assert runs(m, "tests/smoke/test_s.py") == [
        (("ci_manual",), True, ".github/workflows/train.yml:4 -> scripts/smoke.sh:1 -> tests/smoke/test_s.py")]
    assert [i.kind for i in m.invocations if i.location.path == ".github/workflows/train.yml"] == ["template"]


# --------------------------------------------------------------------------------------------- hostile input

@pytest.mark.parametrize("path", ["build/x.yaml", "infra/main.tf", "cdk/stack.py", "ci/x.groovy", "t/x.yaml"])
def test_hostile_content_gives_diagnostics_never_exceptions(path: str) -> None:
    bodies = [
        "steps: not-a-list\nphases: [1, 2]\nversion: 0.2\n",
        "steps:\n  - name: {{ .Values.image }}\n    args: [{{ .Values.args }}]\n",
        "trigger: [main]\npool: x\nstages: {{ bad\n  - template: [x\n",
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  tasks: {taskRef: 3}\n---\nkind: EventListener\n",
        'resource "aws_codebuild_project" "x" {\n  source {\n    buildspec = <<EOF\nversion: 0.2\n',
        'resource "google_cloudbuild_trigger" "t" { filename = "${var.f}" github { push { } } ',
        ("from aws_cdk import aws_codebuild as codebuild\ncodebuild.PipelineProject(self, 'x', build_spec=codebuild."
         "BuildSpec.from_object({'phases': {'build': {'commands': ['pytest', "),
        "pipeline {\n stages {\n  stage('x') { steps { sh '''\n",
        ("Resources:\n  P: {Type: AWS::CodeBuild::Project, Properties: {Source: [1]}}\n  Q: {Type: AWS::CodePipeline::"
         "Pipeline, Properties: {Stages: {Actions: 1}}}\n"),
        "\x00\x01garbage: [}{",
    ]
    for body in bodies:
        facts = ci_of({path: body, "cdk/cdk.json": "{}"})
        build_automation([path], {path: body}.get, facts)


# --------------------------------------------------------------------------------------------- seed workflows (C6)

SEED_WF = ("on:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
           "      - uses: actions/checkout@v4\n      - run: pip install .\n      - run: run-pipeline --wait\n"
           "      - run: python -m pytest tests\n")


def test_template_seed_workflows_count_only_when_the_readme_says_to_copy_them() -> None:
    files = {"seedcode/.github/workflows/build.yml": SEED_WF,
             "seedcode/setup.py": ("from setuptools import setup\nsetup(name='p', entry_points={'console_scripts': "
                                   "['run-pipeline=pipelines.run_pipeline:main']})\n"),
             "seedcode/pipelines/__init__.py": "", "seedcode/pipelines/run_pipeline.py": "",
             "seedcode/tests/test_p.py": "", "tests/test_root.py": "",
             "README.md": "## Setup\n\nCopy the contents of the `seedcode` directory to the root of your repository.\n"}
    m = model(files)
    assert runs(m, "seedcode/pipelines/run_pipeline.py") == [
        (("ci_push",), True, "seedcode/.github/workflows/build.yml:10 -> seedcode/pipelines/run_pipeline.py")]
    assert [r[0] for r in runs(m, "seedcode/tests/test_p.py")] == [("ci_push",)]  # run from the seed's root
    assert m.reaches("tests/test_root.py") == []
    # a nested workflow folder nothing tells anyone to copy is read by no runner (C6)
    silent = {**files, "README.md": "## Layout\n\nThe `seedcode` directory holds an example project.\n"}
    assert ci_of(silent).jobs == ()


def test_malformed_ci_files_give_diagnostics() -> None:
    facts = ci_of({"cloudbuild.yaml": "steps: [\n  - name: x\n",
                   "tekton/ci.yaml": "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec: {tasks: [\n",
                   "ci/random.yaml": "steps: [oops\nargs: x\nname: y\n"})
    assert sorted(d.path for d in facts.diagnostics) == ["cloudbuild.yaml", "tekton/ci.yaml"]
    assert facts.jobs == ()


def test_an_ambiguous_buildspec_path_links_to_nothing() -> None:
    # the project runs "codebuild-buildspec.yml" of its source repository; two folders of the tree have one, so
    # which one the CodeCommit repository is seeded from is unknown: both stay started by hand
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n      - python run.py\n"
    files = {"templates/project.yml": CFN, "seed-a/codebuild-buildspec.yml": spec,
             "seed-b/codebuild-buildspec.yml": spec, "seed-a/run.py": "", "seed-b/run.py": ""}
    jobs = ci_of(files).jobs
    assert sorted((j.file, tuple(t.kind for t in j.triggers)) for j in jobs if j.file.endswith("buildspec.yml")) == [
        ("seed-a/codebuild-buildspec.yml", ("manual",)), ("seed-b/codebuild-buildspec.yml", ("manual",))]
