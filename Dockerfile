# CPU image of kb-app: the web UI (`kb ui`), the HTTP API (`kb serve`) and the OpenAI-compatible llama.cpp
# server (`python -m llama_cpp.server`) all run from it (docker-compose.yml). Models are mounted from the
# `models` volume at /models, never baked in (docs/deploy.md).
FROM python:3.11-slim

# Compilers for llama-cpp-python; Tesseract (with Chinese data) OCRs scanned PDFs and images.
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake git tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# CPU torch first, pinned, so no dependency can pull a CUDA build into this image.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY kb_app ./kb_app
COPY ingest ./ingest
COPY vectorstores ./vectorstores
COPY ui ./ui
# GGML_NATIVE=OFF: portable llama.cpp kernels, not tuned to (and crashing off) the build host's CPU.
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir .

RUN useradd --create-home --uid 1000 kb && mkdir -p /data /models && chown kb:kb /data /models
USER kb
ENV KB_HOME=/data KB_MODELS_DIR=/models HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
VOLUME ["/data"]
EXPOSE 8501 8000
CMD ["kb", "ui", "--port", "8501"]
