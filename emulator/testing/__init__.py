"""Testing support: the pytest plugin (``emulator.testing.pytest_plugin``), installed with the
package and loaded by pytest automatically."""
