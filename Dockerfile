# The Cloudmicro control plane (also used by the compose stack's moto, init and lambda-python
# services). The base image is a build argument: an official Python image where a registry is
# reachable, or the offline base from runtimes/base/build-base.sh.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV VIRTUAL_ENV=/opt/cloudmicro PATH=/opt/cloudmicro/bin:$PATH PYTHONUNBUFFERED=1
RUN python3 -m venv /opt/cloudmicro
# Dependencies first (cached while only the code changes).
COPY pyproject.toml README.md /src/
RUN mkdir -p /src/emulator /src/runtimes && touch /src/emulator/__init__.py /src/runtimes/__init__.py \
 && pip install --no-cache-dir --disable-pip-version-check /src && pip uninstall -y -q cloudmicro
COPY emulator /src/emulator
COPY runtimes /src/runtimes
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps /src && rm -rf /src
ENTRYPOINT []
CMD ["cloudmicro", "serve", "--host", "127.0.0.1"]
