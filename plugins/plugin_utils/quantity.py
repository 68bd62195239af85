# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Kubernetes resource quantities: parse them exactly, compare them as admission does, print them readably.

As k8s.io/apimachinery/pkg/api/resource does (Kubernetes v1.36); each function names the Go code it mirrors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import ROUND_CEILING, ROUND_UP, Decimal, InvalidOperation, localcontext

# --------------------------------------------------------------------------------------------
# Quantities: k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity,
# parseQuantityString) and suffix.go (suffixHandler.interpret).
# --------------------------------------------------------------------------------------------

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# <sign><digits>[.<digits>]<suffix>: the suffix is a binary or decimal SI suffix or e/E<exponent>.
_QUANTITY = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NANO = Decimal("1e-9")
# resource.MaxMilliValue (math.go): above it MilliValue() overflows and Value() is compared.
MAX_MILLI_VALUE = ((1 << 63) - 1) // 1000


class QuantityError(ValueError):
    """A value that Kubernetes would not accept as a resource quantity."""


def parse_quantity(value):
    """The exact Decimal value of a Kubernetes quantity ('100m', '1.5Gi', '1e3', 2, 0.5).

    As ParseQuantity does, a non-zero value more precise than 1n is rounded up (away from 0)
    to 1n. Raises QuantityError for what the API server would refuse.
    """
    if isinstance(value, bool) or value is None:
        raise QuantityError("%r is not a quantity" % (value,))
    with localcontext() as ctx:
        ctx.prec = 100
        try:
            return _parse(value)
        except InvalidOperation:
            raise QuantityError("%r is out of range" % (value,))


def _parse(value):
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        text = str(value).strip()
        match = _QUANTITY.match(text)
        if not text or not match or (match.group(2) == "" and not match.group(3)):
            raise QuantityError("%r is not a quantity" % (value,))
        sign, whole, fraction, suffix = match.groups()
        digits = Decimal("%s%s.%s" % (sign, whole or "0", fraction or "0"))
        if suffix in _BINARY:
            number = digits * (Decimal(2) ** _BINARY[suffix])
        elif suffix in _DECIMAL:
            number = digits.scaleb(_DECIMAL[suffix])
        elif len(suffix) > 1 and suffix[0] in "eE" and re.match(r"^[-+]?[0-9]+$", suffix[1:]):
            number = digits.scaleb(int(suffix[1:]))
        else:
            raise QuantityError("%r has an unknown suffix %r" % (value, suffix))
    if not number.is_finite():
        raise QuantityError("%r is not a quantity" % (value,))
    if number == 0:
        return Decimal(0)
    if number != number.quantize(_NANO, rounding=ROUND_UP):
        number = number.quantize(_NANO, rounding=ROUND_UP)
    return number.normalize()


def scaled_ceil(value, scale):
    """Quantity.ScaledValue: ceil(value / 10^scale) as an int."""
    return int(value.scaleb(-scale).to_integral_value(rounding=ROUND_CEILING))


def _comparable(*values):
    """requestLimitEnforcedValues (limitranger/admission.go): MilliValue() when none overflows, else Value()."""
    if all(scaled_ceil(v, 0) <= MAX_MILLI_VALUE for v in values):
        return [scaled_ceil(v, -3) for v in values]
    return [scaled_ceil(v, 0) for v in values]


def below(value, bound):
    observed, enforced = _comparable(value, bound)
    return observed < enforced


def above(value, bound):
    observed, enforced = _comparable(value, bound)
    return observed > enforced


def _is_cpu(resource):
    return resource in ("cpu", "requests.cpu", "limits.cpu")


def _is_count(resource):
    return resource in ("pods", "persistentvolumeclaims", "services", "configmaps", "secrets") or resource.startswith("count/") or resource.endswith(
        ".storageclass.storage.k8s.io/persistentvolumeclaims")


def _plain(number):
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_quantity(value, resource="memory"):
    """A readable quantity that parse_quantity reads back exactly.

    CPU in cores when whole, else in m (or u/n below 1m); counts as integers; memory and
    storage with the suffix that writes them shortest, binary first (1536Mi, 16Gi, 1G),
    else in bytes.
    """
    number = parse_quantity(value)
    with localcontext() as ctx:
        ctx.prec = 100
        if number < 0:
            return "-" + format_quantity(-number, resource)
        if number == 0:
            return "0"
        integral = number == number.to_integral_value()
        if integral and not _is_cpu(resource) and not _is_count(resource):
            whole = int(number)
            candidates = [str(whole)]
            for suffix, exponent in sorted(_BINARY.items(), key=lambda kv: kv[1]):
                if whole % (1 << exponent) == 0:
                    candidates.append("%d%s" % (whole >> exponent, suffix))
            for suffix, exponent in sorted(_DECIMAL.items(), key=lambda kv: kv[1]):
                if exponent > 0 and whole % (10 ** exponent) == 0:
                    candidates.append("%d%s" % (whole // 10 ** exponent, suffix))
            return min(candidates, key=len)  # the first of the shortest: bytes, then binary suffixes
        if integral:
            return str(int(number))
        for suffix in ("m", "u", "n"):
            scaled = number.scaleb(-_DECIMAL[suffix])
            if scaled == scaled.to_integral_value():
                return "%d%s" % (int(scaled), suffix)
        return _plain(number)


def ratio_text(number):
    with localcontext() as ctx:
        ctx.prec = 30
        return _plain(number.quantize(Decimal("0.01"), rounding=ROUND_UP)) if number != number.to_integral_value() else str(int(number))
