"""audiodiff: SpeechBrain-style recipes for audio diffusion models."""

from setuptools import find_packages, setup

with open("README.md", encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="audiodiff",
    version="0.1.0",
    description="Diffusion recipes for audio in the SpeechBrain manner: lobes, recipes, tools",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["audiodiff", "audiodiff.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.7,<2.15",
        "torchaudio>=2.7",
        "speechbrain>=1.1,<1.2",
        "hyperpyyaml",
        "datasets",
        "sentencepiece",
        "matplotlib",
        "soundfile",
        "tqdm",
        "numpy",
    ],
    extras_require={"dev": ["pytest", "ruff"]},
)
