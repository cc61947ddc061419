"""A Spark on this machine for the batch job: local mode, the project's own Python on the workers.

Spark runs in a JVM: PySpark 4 needs a Java runtime 17 or newer (``java`` on PATH or under
``JAVA_HOME``). ``.ci/run`` installs Debian's ``openjdk-17-jre-headless`` where it is missing.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JAVA_HINT = "install a Java runtime 17+ (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)"


def java_problem() -> str | None:
    """Why Spark cannot start here (no Java runtime), or None."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return None
    if shutil.which("java"):
        return None
    return f"Spark needs Java, and there is no java on PATH or JAVA_HOME: {JAVA_HINT}"


def local_session(cores: int = 2, app: str = "mlplat-batch") -> SparkSession:
    """A local Spark with ``cores`` task slots (``local[cores]``), quiet and without its web UI."""
    from pyspark.sql import SparkSession

    from lifecycle.batch.score import quiet_pandas_warning

    # The Python workers must be this interpreter (its venv has pyarrow, MLflow, the model's
    # libraries), not the first python3 on PATH.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # one machine: no hostname lookup
    quiet_pandas_warning()
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # stderr stays for errors
        .config("spark.sql.shuffle.partitions", str(cores * 2))
        .config("spark.driver.memory", os.environ.get("MLPLAT_SPARK_DRIVER_MEMORY", "2g"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
