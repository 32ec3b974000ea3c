"""Reads a weights file in any format owf knows, prints its tensors, converts it with owf.save_file
and checks that the copy holds the same weights (the content digest does not depend on the format).

    /usr/bin/python3 convert_and_check.py model.gguf out.safetensors
"""
import sys

import owf


def main(source, target):
    with owf.safe_open(source, framework="np") as f:
        print(f"{source}: {f.format()}, {len(f.keys())} tensors")
        for name in f.keys():
            rows = f.get_slice(name)
            print(f"  {name} {rows.get_dtype()} {rows.get_shape()}")
    try:
        tensors = owf.load_file(source)  # raw tensors are views of the file, not copies
        owf.save_file(tensors, target, metadata={"converted_by": "convert_and_check.py"})
    except owf.OwfError as error:
        print(f"convert_and_check: {error}", file=sys.stderr)
        return 2
    same = owf.content_digest(source) == owf.content_digest(target)
    print(f"{target}: {'same weights' if same else 'DIFFERENT weights'} ({owf.content_digest(target)})")
    return 0 if same else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_and_check.py SOURCE TARGET")
    sys.exit(main(sys.argv[1], sys.argv[2]))
