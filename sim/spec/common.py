"""Shared building blocks of the scenario schema: the strict base model and distribution specs.

Every model forbids unknown keys (a typo in a scenario is an error, not a silent default) and is
frozen, so a validated scenario is plain immutable data that the simulator cannot change.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sim.spec.bounds import bound_for, bound_validator, is_numeric


class StrictModel(BaseModel):
    """Base of every scenario model: unknown keys, infinities and NaN are rejected; values are immutable.

    Types are strict: ``replicas: true`` or ``replicas: "3"`` is an error, not 1 or 3, and a flag must
    be ``true`` or ``false``, not 1 or "yes" (YAML's own booleans are booleans already).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Give every numeric field its physical bound (sim.spec.bounds) as a field validator."""
        super().__pydantic_init_subclass__(**kwargs)
        added = False
        for name, info in cls.model_fields.items():
            bound = bound_for(cls.__name__, name)
            if bound is None or not is_numeric(info.annotation):
                continue
            if any(getattr(getattr(m, "func", None), "sim_bound", False) for m in info.metadata):
                continue  # inherited from a parent model that has it already
            info.metadata.append(AfterValidator(bound_validator(bound)))
            added = True
        if added:
            cls.model_rebuild(force=True, raise_errors=False)


class ExponentialSpec(StrictModel):
    """Exponential distribution with the given mean (memoryless; service time of M/M/c)."""

    kind: Literal["exponential"]
    mean: float = Field(gt=0, description="Mean, in the unit named by the field holding it.")


class DeterministicSpec(StrictModel):
    """Always the same value (service time of M/D/c)."""

    kind: Literal["deterministic"]
    value: float = Field(ge=0, description="The constant value.")


class LognormalSpec(StrictModel):
    """Lognormal distribution parametrised by its mean and coefficient of variation."""

    kind: Literal["lognormal"]
    mean: float = Field(gt=0, description="Mean of the distribution (not of its logarithm).")
    cv: float = Field(gt=0, description="Coefficient of variation: standard deviation / mean.")


class GammaSpec(StrictModel):
    """Gamma distribution parametrised by its mean and coefficient of variation."""

    kind: Literal["gamma"]
    mean: float = Field(gt=0, description="Mean.")
    cv: float = Field(gt=0, description="Coefficient of variation: standard deviation / mean.")


class UniformSpec(StrictModel):
    """Uniform distribution on [low, high]."""

    kind: Literal["uniform"]
    low: float = Field(ge=0, description="Lower bound.")
    high: float = Field(gt=0, description="Upper bound, above low.")

    @model_validator(mode="after")
    def _ordered(self) -> UniformSpec:
        if self.high <= self.low:
            raise ValueError("high must be greater than low")
        return self


DistributionSpec = Annotated[
    ExponentialSpec | DeterministicSpec | LognormalSpec | GammaSpec | UniformSpec,
    Field(discriminator="kind"),
]

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]

