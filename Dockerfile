FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml README.md ./
COPY desk/__init__.py desk/__init__.py
RUN pip install -e .

COPY desk desk
COPY migrations migrations
COPY templates templates
COPY static static
COPY rules rules

RUN useradd --create-home --uid 10001 desk && mkdir -p /app/var && chown desk /app/var
USER desk
EXPOSE 8000
CMD ["desk", "serve", "--host", "0.0.0.0", "--port", "8000"]
