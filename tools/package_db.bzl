"""`package_db`: the host package manager's database, as a watched file.

Bazel 4 re-runs a repository rule only when an `environ` variable or a file
it read through a label changes, so a rule that looked for a tool and did
not find it would keep saying so after the tool is installed. A toolkit
rule that reads `@<name>//:db` is re-run whenever a package is installed or
removed (`apt-get install -y hipcc`), because the file is a symlink to
dpkg's status file and Bazel checks files outside the workspace for changes.
"""

_DATABASES = ["/var/lib/dpkg/status", "/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages"]

def _package_db_impl(rctx):
    # GROUPQUANT_PACKAGE_DB: a stand-in file for tests of the re-run.
    override = rctx.os.environ.get("GROUPQUANT_PACKAGE_DB", "")
    found = [db for db in ([override] if override else _DATABASES) if rctx.execute(["test", "-f", db]).return_code == 0]
    if found:
        rctx.symlink(found[0], "db")
    else:
        # No package manager we know: installs are then only seen through
        # the toolkit rules' environ (PATH, ROCM_PATH, CUDA_PATH).
        rctx.file("db", "")
    rctx.file("BUILD.bazel", 'exports_files(["db"], visibility = ["//visibility:public"])\n')

package_db = repository_rule(
    implementation = _package_db_impl,
    environ = ["GROUPQUANT_PACKAGE_DB"],
    doc = "Exposes the host's package database (dpkg, rpm) as @NAME//:db.",
)
