"""The layout's rules: no import circles, the domain side never imports Telegram, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIRS = ("bot", "handlers", "storage", "tests", "bench")
# The domain side: no `telegram`, and nothing from the Telegram glue or the CLI above it.
DOMAIN = (
    "bot.engine",
    "bot.clinic",
    "bot.video",
    "bot.vlm",
    "bot.pose",
    "storage",
    "bot.config",
    "bot.i18n",
    "bot.logs",
    "bot.services",
)
FORBIDDEN_IN_DOMAIN = ("telegram", "bot.tg", "handlers", "bot.cli")
MAX_LINES = 420  # "about 400"
# Data tables (word lists, per-language vocabularies) and migrations may be longer.
LONG_ALLOWED = {"bot/clinic/safety_lexicon.py", "bot/engine/moment_words.py"}


def module_name(path: Path) -> str:
    """`bot/tg/app.py` → `bot.tg.app`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> list[Path]:
    """Every Python file of the project (not the virtual environment)."""
    files: list[Path] = []
    for folder in PROJECT_DIRS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


MODULES = {module_name(path): path for path in project_files()}


def resolve(name: str) -> str | None:
    """The project module an import refers to, or None for a third-party one."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imported_names(path: Path) -> list[str]:
    """Everything a file imports, at any depth (function-level imports included), fully qualified."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.append(full if full in MODULES else base)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {resolve(imported) for imported in imported_names(path)}
        graph[name] = {target for target in targets if target and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_circles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_function_level_imports() -> None:
    # The CLI imports its verbs lazily; those edges must still count.
    assert "bot.cli.assess" in import_graph()["bot.cli.main"]


def in_domain(module: str) -> bool:
    """Whether a module belongs to the domain side."""
    return any(module == prefix or module.startswith(prefix + ".") for prefix in DOMAIN)


@pytest.mark.parametrize("module", sorted(name for name in MODULES if in_domain(name)))
def test_domain_side_imports_no_telegram(module: str) -> None:
    bad = [
        name
        for name in imported_names(MODULES[module])
        if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in FORBIDDEN_IN_DOMAIN)
    ]
    assert not bad, f"{module} is on the domain side but imports {bad}"


def test_storage_knows_nothing_of_the_bot() -> None:
    offenders = {
        name: sorted(target for target in targets if target.startswith(("bot", "handlers")))
        for name, targets in import_graph().items()
        if name.startswith("storage")
    }
    assert not {name: bad for name, bad in offenders.items() if bad}


@pytest.mark.parametrize("path", project_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative in LONG_ALLOWED or relative.startswith("storage/migrations/"):
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{relative} has {lines} lines; split it (limit {MAX_LINES})"
