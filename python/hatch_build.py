"""The wheel's build hook: checks that scripts/build-bindings left the generated module and the
library in minga/, and tags the wheel for this platform (it carries a native library, so it is
not pure Python), for any Python 3 (the module loads the library with ctypes, no C API)."""

import os
import sysconfig

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LIBRARIES = ("libminga.so", "libminga.dylib")


class MingaLibraryHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        package = os.path.join(self.root, "minga")
        missing = [name for name in ("minga.py",) if not os.path.exists(os.path.join(package, name))]
        if not any(os.path.exists(os.path.join(package, name)) for name in LIBRARIES):
            missing.append(" or ".join(LIBRARIES))
        if missing:
            raise RuntimeError(
                f"{', '.join(missing)} not in {package}: run scripts/build-bindings first "
                "(the wheel carries the library it built, it compiles nothing)"
            )
        build_data["pure_python"] = False
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"
