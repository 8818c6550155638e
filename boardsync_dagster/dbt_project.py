"""The dbt project (dbt_project/) as Dagster sees it.

No @dbt_assets here: `dagster-dbt project prepare-and-package --file` imports this module to build the manifest
before any asset can load.
"""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from boardsync_dagster.dagster_private import replace_record

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The dbt beside this Python: dagster-dbt looks for `dbt` on PATH, which an un-activated virtualenv lacks.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """Parses the project with DBT_EXECUTABLE; the stock preparer runs `dbt` from PATH."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        cli = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
        cli.cli(["parse", "--quiet"], target_path=project.target_path).wait()


# DbtProject takes no preparer argument; its record copy swaps in ours (see dagster_private).
boardsync_dbt = replace_record(
    DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
    preparer=VenvDbtPreparer(),
)
boardsync_dbt.prepare_if_dev()
