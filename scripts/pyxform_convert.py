"""Converts XLSForm workbooks to XForms with pyxform, the reference converter, for the oracle
test (forms/tests/pyxform_oracle.rs): writes OUT/<stem>.xml for each file pyxform converts, and
OUT/<stem>.error with pyxform's message for each it refuses.

usage: pyxform_convert.py OUT FILE...
"""

import pathlib
import sys
import warnings

from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.xml")) + list(out.glob("*.error")):
        old.unlink()
    converted = refused = 0
    for name in sys.argv[2:]:
        path = pathlib.Path(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on unsupported Excel extensions
            try:
                # ODK Validate (a Java tool) is not run: it checks XPath, which our import
                # checks itself.
                result = convert(xlsform=str(path), validate=False)
            except PyXFormError as error:
                (out / f"{path.stem}.error").write_text(str(error))
                refused += 1
                continue
        (out / f"{path.stem}.xml").write_text(result.xform)
        converted += 1
    print(f"pyxform {converted} converted, {refused} refused, into {out}")


if __name__ == "__main__":
    main()
