"""An ML engineer's ordinary mistakes, made in real files as they would be: each is a message
naming the model (or team), the file and the field, with exit 2 and no traceback."""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

import pytest
from typer.testing import CliRunner

import model_packages
import stacks
from infra import loader
from infra.declarations import SpecError
from infra.declarations.errors import Problem
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_ROOT
from mlplat.cli import app

runner = CliRunner()

MODEL = """\
from infra.declarations import ModelDeclaration

model = ModelDeclaration(
    name="upsell-scorer",
    version=1,
    team="growth",
    framework="sklearn",
    framework_version="1.9-0",
    artifact="model_packages/churn_predictor/mlflow_model",
    serving="sagemaker-mme",
    resources=RESOURCES,
    scaling=SCALING,
    monthly_budget_usd=200,
)
"""

# The growth team's data prefixes and batch quota as dev declares them: they cover what
# churn_predictor (served below) declares, whatever that is.
_GROWTH = next(team for team in import_module("stacks.dev").teams if team.name == "growth")
_BATCH = _GROWTH.batch_quota.model_dump(mode="json") if _GROWTH.batch_quota else None
STACK = f"""\
from infra.declarations import Team
from model_packages import churn_predictor, upsell_scorer

teams = [
    Team(
        name="growth",
        monthly_budget_usd=3000,
        quota={{"cpu": 32, "memory_gib": 128}},
        data={_GROWTH.data.model_dump(mode="json")!r},
        batch_quota={_BATCH!r},
    ),
]

models = [
    churn_predictor.model,
    MODELS,
]
"""


def _line_of(text: str) -> int:
    """The line of STACK (1-based) that holds ``text``."""
    return next(n for n, line in enumerate(STACK.splitlines(), 1) if text in line)


class Project:
    """Stack files and model packages written to a temporary folder and imported from there, as
    if they were in the repository (the real ones are untouched)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        (root / "stacks").mkdir()
        (root / "model_packages").mkdir()
        monkeypatch.setattr(stacks, "__path__", [str(root / "stacks")])
        monkeypatch.setattr(
            model_packages, "__path__", [str(root / "model_packages"), *model_packages.__path__]
        )
        for name in [n for n in sys.modules if n.startswith("stacks.")] + [
            "model_packages.upsell_scorer",
            "model_packages.lead_scorer",
        ]:
            monkeypatch.delitem(sys.modules, name, raising=False)
            parent, _, child = name.rpartition(".")
            monkeypatch.delattr(sys.modules[parent], child, raising=False)

    def model(self, package="upsell_scorer", text=MODEL, **values) -> None:
        values = {
            "RESOURCES": '{"memory_mb": 384}',
            "SCALING": '{"min_instances": 1, "max_instances": 3}',
        } | values
        for key, value in values.items():
            text = text.replace(key, value)
        folder = self.root / "model_packages" / package
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text(text)

    def stack(self, text=STACK, models="upsell_scorer.model") -> None:
        (self.root / "stacks" / "dev.py").write_text(text.replace("MODELS", models))


@pytest.fixture
def project(tmp_path, monkeypatch):
    before = set(sys.modules)
    yield Project(tmp_path, monkeypatch)
    # Forget the modules imported from the temporary folder (monkeypatch restores the rest).
    for name in set(sys.modules) - before:
        if name.startswith(("stacks.", "model_packages.")):
            parent, _, child = sys.modules.pop(name).__name__.rpartition(".")
            if getattr(sys.modules[parent], child, None) is not None:
                delattr(sys.modules[parent], child)


def fails(*args: str) -> str:
    """The command's output, whitespace-normalised (the console wraps long lines)."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "400"})  # no wrapping mid-path
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


EXACT_M5 = ', instance_type="ml.m5.xlarge", instance_type_mode="exact"'


def test_memory_that_fits_the_instance_but_not_the_models_share(project):
    # ml.m5.xlarge, insisted on: 16,384 MB, 70% to models
    project.model(RESOURCES='{"memory_mb": 12000}' + EXACT_M5)
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text
    assert "model_packages/upsell_scorer/__init__.py:3)" in text
    assert "resources.memory_mb: 12000 MB is more than the 11468 MB" in text
    assert "modelMemoryFraction" in text and "choose a larger instance_type" in text


@pytest.mark.parametrize(("memory", "refused"), [(11468, False), (11469, True)])
def test_the_models_share_is_the_boundary(project, memory, refused):
    project.model(RESOURCES=f'{{"memory_mb": {memory}}}' + EXACT_M5)
    project.stack()
    if refused:
        with pytest.raises(SpecError, match="more than the 11468 MB"):
            load_environment("dev", read_stack_config("dev"))
    else:
        spec = load_environment("dev", read_stack_config("dev"))
        assert {m.name for m in spec.models} == {"churn-predictor", "upsell-scorer"}


def test_a_bad_field_in_a_model_package_names_model_file_and_field(project):
    project.model(SCALING='{"min_instances": 3, "max_instances": 2}')
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text
    assert "/model_packages/upsell_scorer/__init__.py:3): scaling.max_instances: must be >=" in text
    assert "models[" not in text and "ModelDeclaration." not in text


def test_a_bad_override_names_the_stack_file_line_too(project):
    project.model()
    project.stack(models='upsell_scorer.model.override(scaling={"max_instances": 0})')
    text = fails("models", "list", "--stack", "dev")
    assert "model 'upsell-scorer' (" in text and "overridden at " in text
    assert f"/stacks/dev.py:{_line_of('MODELS')}): scaling.max_instances" in text


def test_a_forgotten_import_in_a_stack_file(project):
    project.model()
    project.stack(text=STACK.replace("from infra.declarations import Team\n", ""))
    text = fails("models", "list", "--stack", "dev")
    assert "/stacks/dev.py:4: NameError: name 'Team' is not defined" in text
    assert "define or import 'Team'" in text


def test_a_syntax_error_in_a_stack_file(project):
    project.model()
    project.stack(text=STACK.replace("churn_predictor.model,", "churn_predictor.model"))
    text = fails("models", "list", "--stack", "dev")
    line = _line_of("churn_predictor.model,")  # Python: "Perhaps you forgot a comma?" there
    assert f"/stacks/dev.py:{line}: invalid Python" in text and "fix the syntax" in text


def test_a_syntax_error_in_a_model_package_names_it(project):
    project.model(text=MODEL.replace("version=1,", "version=1"))
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "/model_packages/upsell_scorer/__init__.py:5: invalid Python" in text


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path, monkeypatch):
    broken = tmp_path / "Pulumi.dev.yaml"
    good = (PROJECT_ROOT / "Pulumi.dev.yaml").read_text()
    broken.write_text(good.replace("cidr: 10.10.0.0/16", "cidr: [10.10.0.0/16"))
    monkeypatch.setattr(loader, "stack_config_path", lambda stack: broken)
    text = fails("models", "list", "--stack", "dev")
    line = good.splitlines().index("    cidr: 10.10.0.0/16") + 1
    assert "Pulumi.dev.yaml:" in text and "not valid YAML" in text and "fix the syntax" in text
    assert f"a flow sequence started at line {line}" in text


def test_a_misspelt_models_list_is_not_silently_no_models(project):
    project.model()
    project.stack(text=STACK.replace("models = [", "modles = ["))
    text = fails("models", "list", "--stack", "dev")
    assert "unknown top-level name 'modles': did you mean 'models'?" in text
    # the committed dev lock places models: an empty stack would delete them on `up`
    assert "declares no models, but stacks/dev.placement.json places" in text
    assert "serves_no_models = True" in text


def test_serving_no_models_is_a_named_opt_in(project):
    project.model()
    project.stack(text=STACK.split("models = [")[0] + "serves_no_models = True\nmodels = []\n")
    spec = load_environment("dev", read_stack_config("dev"))
    assert spec.models == ()


def test_helpers_with_a_leading_underscore_and_future_imports_are_allowed(project):
    project.model()
    helper = STACK.replace("models = [", "_shared = [churn_predictor.model]\nmodels = [")
    project.stack(text="from __future__ import annotations\n" + helper)
    assert len(load_environment("dev", read_stack_config("dev")).models) == 2


def test_every_problem_at_once_when_declarations_are_built_in_python(project, monkeypatch):
    """Two bad model packages, a bad Team and a config typo: all four reported together."""
    project.model(SCALING='{"min_instances": 3, "max_instances": 2}')
    project.model(
        "lead_scorer",
        text=MODEL.replace("upsell-scorer", "lead-scorer"),
        RESOURCES='{"memory_mb": -1}',
    )
    project.stack(
        text=STACK.replace("monthly_budget_usd=3000", "monthly_budget_usd=0").replace(
            "churn_predictor, upsell_scorer", "churn_predictor, lead_scorer, upsell_scorer"
        ),
        models="upsell_scorer.model, lead_scorer.model",
    )
    real = loader.read_stack_config

    def typo(stack):
        return real(stack) | {"mlplat:servng": '{"maxModelsPerEndpoint": 5}'}

    monkeypatch.setattr(loader, "read_stack_config", typo)  # imported by the command at run time
    text = fails("models", "list", "--stack", "dev")
    assert "4 problem(s)" in text
    assert "config.servng: Extra inputs are not permitted" in text
    assert "team 'growth' (" in text and "/stacks/dev.py:5): monthly_budget_usd" in text
    assert "model 'upsell-scorer' (" in text and "scaling.max_instances" in text
    assert "model 'lead-scorer' (" in text and "resources.memory_mb" in text


def test_a_positional_argument_is_a_message(project):
    project.model(text=MODEL.replace("ModelDeclaration(", 'ModelDeclaration("upsell-scorer",'))
    project.stack()
    text = fails("models", "list", "--stack", "dev")
    assert "/model_packages/upsell_scorer/__init__.py:3: TypeError" in text
    assert "; check the call's arguments (declarations take keyword arguments only)" in text


# --- each kind of stack-file problem, in full: path, subject (file:line) and advice -----------


def refusal(stack: str = "dev", config: dict[str, str] | None = None) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_environment(stack, config or read_stack_config("dev"))
    return caught.value


def test_a_stack_without_a_file_is_named(project):
    error = refusal("qa")
    assert error.source == "stacks/"
    assert error.problems == [Problem("stack", "no stack file stacks/qa.py")]


def stack_with(project, line: str) -> str:
    """The stack file with `line` after its imports; returns the file's path as shown."""
    project.model()
    project.stack(text=STACK.replace("\nteams = [", f"\n{line}\nteams = [", 1))
    return str(project.root / "stacks" / "dev.py")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (  # raised inside importlib, reported at the stack file's line
            "import model_packages.nothing_here",
            "ModuleNotFoundError: No module named 'model_packages.nothing_here'; import it from "
            "where it is defined",
        ),
        ('raise NameError("no name given")', "NameError: no name given; define or import it"),
        (
            "Team.model_validate_json('{')",  # raised before a declaration could keep it
            "ValidationError: 1 validation error for Team; fix the declaration's fields",
        ),
        ("raise RuntimeError()", "RuntimeError: ; fix the code there"),
        ('{}["x"]', "KeyError: 'x'; fix the code there"),
    ],
)
def test_code_that_fails_is_named_at_its_line_with_advice_for_its_kind(project, line, message):
    path = stack_with(project, line)
    assert refusal().problems == [Problem("stack", message, subject=f"{path}:4")]


def test_invalid_python_is_named_at_its_line(project):
    path = stack_with(project, "x = (")
    (problem,) = refusal().problems
    assert (problem.path, problem.subject) == ("stack", f"{path}:4")
    assert problem.message.startswith("invalid Python: ")
    assert problem.message.endswith("; fix the syntax")


def test_a_syntax_error_from_no_file_is_reported_without_a_place(project):
    stack_with(project, 'raise SyntaxError("made up")')
    assert refusal().problems == [
        Problem("stack", "invalid Python: made up; fix the syntax", subject="?")
    ]


def test_inside_the_project_places_are_relative_to_it(project, monkeypatch):
    from infra.declarations import model as declarations

    config = read_stack_config("dev")
    monkeypatch.setattr(loader, "PROJECT_ROOT", project.root)
    monkeypatch.setattr(declarations, "PROJECT_ROOT", project.root)
    stack_with(project, 'raise NameError("x")')
    assert refusal(config=config).problems[0].subject == "stacks/dev.py:4"


def test_inside_the_project_a_declaration_is_placed_relative_to_it(project, monkeypatch):
    from infra.declarations import model as declarations

    config = read_stack_config("dev")
    monkeypatch.setattr(loader, "PROJECT_ROOT", project.root)
    monkeypatch.setattr(declarations, "PROJECT_ROOT", project.root)
    project.model(SCALING='{"min_instances": 3, "max_instances": 2}')
    project.stack()
    text = str(refusal(config=config))
    assert "model 'upsell-scorer' (model_packages/upsell_scorer/__init__.py:3)" in text


def test_an_unknown_top_level_name_lists_what_a_stack_file_defines(project):
    project.model()
    project.stack(text=STACK + "widgets = 3\n")
    assert refusal().problems == [
        Problem(
            "stack",
            "unknown top-level name 'widgets': a stack file defines teams, models, "
            "serves_no_models (name helpers with a leading '_')",
            subject="stacks/dev.py",
        )
    ]


def test_functions_and_modules_at_top_level_are_not_unknown_names(project):
    project.model()
    helper = "import json\n\ndef tuned(model):\n    return model\n\n"
    project.stack(
        text=helper + STACK.replace("churn_predictor.model,", "tuned(churn_predictor.model),")
    )
    assert len(load_environment("dev", read_stack_config("dev")).models) == 2


def test_a_stack_without_teams_needs_one(project):
    project.model()
    project.stack(text=STACK.replace("teams = [", "_teams = ["))
    assert Problem("teams", "stacks/dev.py: a stack needs at least one team") in refusal().problems


def test_an_emptied_stack_names_the_models_its_lock_places(project):
    from components.serving.placement import read_placement_lock

    placed = sorted(read_placement_lock("dev").models)
    assert placed  # the committed dev lock places models; else this test proves nothing
    project.model()
    project.stack(text=STACK.split("models = [")[0] + "models = []\n")
    assert refusal().problems == [
        Problem(
            "models",
            f"declares no models, but stacks/dev.placement.json places {len(placed)} "
            f"({', '.join(placed)}): `up` would delete them. Check the spelling of "
            "`models = [...]`; to really serve none, set `serves_no_models = True`",
            subject="stacks/dev.py",
        )
    ]


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        ("OSError('unreadable')", "OSError: unreadable; fix the code there"),
        (
            "ModuleNotFoundError('no module', name='lost')",
            "ModuleNotFoundError: no module; import it from where it is defined",
        ),
    ],
)
def test_an_error_outside_the_users_code_is_placed_at_the_stack_file(monkeypatch, raised, message):
    """Python fails before running the file (an unreadable file, say): no line of the user's
    code is in the traceback, so the problem names the stack file itself."""
    failing_import: dict = {}
    # compiled as if it were importlib's own code, which the loader never names
    code = f"def fail(name):\n    raise {raised}\n"
    exec(compile(code, "<frozen importlib>", "exec"), failing_import)
    monkeypatch.setattr(loader.importlib, "import_module", failing_import["fail"])
    assert refusal().problems == [Problem("stack", message, subject="stacks/dev.py")]
