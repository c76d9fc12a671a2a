"""Runs unittest test classes and prints one TAP line per test.

    python3 tap.py MODULE CLASS...

Lines are "ok - NAME", "ok - NAME # SKIP WHY" and "not ok - NAME" with
the failure as "#" lines after it; the caller numbers them.  Exits 0 when
every test passed.
"""

import importlib
import os
import sys
import traceback
import unittest


class TapResult(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.bad = 0

    @staticmethod
    def _name(test: unittest.TestCase) -> str:
        doc = test.shortDescription()
        name = "%s.%s" % (type(test).__name__, test._testMethodName)
        return "%s: %s" % (name, doc) if doc else name

    def _say(self, line: str) -> None:
        sys.stdout.write(line.replace("\n", " ") + "\n")
        sys.stdout.flush()

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._say("ok - " + self._name(test))

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._say("ok - %s # SKIP %s" % (self._name(test), reason))

    def _fail(self, test: unittest.TestCase, err) -> None:
        self.bad += 1
        self._say("not ok - " + self._name(test))
        for line in "".join(traceback.format_exception(*err)).splitlines():
            sys.stdout.write("#   %s\n" % line)
        sys.stdout.flush()

    def addFailure(self, test, err) -> None:
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err) -> None:
        super().addError(test, err)
        # An error of a whole class (setUpClass) comes without a test.
        if isinstance(test, unittest.TestCase):
            self._fail(test, err)
        else:
            self.bad += 1
            self._say("not ok - %s" % test)
            for line in "".join(
                    traceback.format_exception(*err)).splitlines():
                sys.stdout.write("#   %s\n" % line)

    def addExpectedFailure(self, test, err) -> None:
        super().addExpectedFailure(test, err)
        self._say("ok - %s # TODO expected failure" % self._name(test))

    def addUnexpectedSuccess(self, test) -> None:
        super().addUnexpectedSuccess(test)
        self.bad += 1
        self._say("not ok - %s (unexpected success)" % self._name(test))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: tap.py MODULE CLASS...\n")
        return 2
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    mod = importlib.import_module(argv[1])
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in argv[2:]:
        suite.addTests(loader.loadTestsFromTestCase(getattr(mod, name)))
    result = TapResult()
    suite.run(result)
    return 0 if result.bad == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
