"""Regenerate the single initial migration from the models (until the first release).

Run from the repository root: python portal/migrations/regen.py
"""

import glob
import os
import sys
import tempfile

sys.path.insert(0, os.getcwd())
os.environ["ECM_START_WORKER"] = "0"

from flask_migrate import migrate  # noqa: E402

from portal import MIGRATIONS, create_app  # noqa: E402

for path in glob.glob(os.path.join(MIGRATIONS, "versions", "*.py")):
    os.remove(path)
db_file = os.path.join(tempfile.mkdtemp(), "regen.sqlite3")
app = create_app(
    {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "ECM_AUTO_INIT": False,
        "ECM_START_WORKER": False,
        "TESTING": True,
    }
)
with app.app_context():
    migrate(directory=MIGRATIONS, message="initial schema")
