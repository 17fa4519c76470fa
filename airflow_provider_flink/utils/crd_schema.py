"""
Validate custom resources against the openAPIV3Schema of the Flink CRDs shipped with this provider.

The rules are the ones the Kubernetes API server applies to a structural schema, with its error
vocabulary, so a manifest can be checked before anything is sent (pre-flight) and the in-repo
API server emulator rejects exactly what a real cluster would:

* unknown fields are pruned (the API server drops them with a warning, or refuses them with
  ``fieldValidation=Strict``), except below ``x-kubernetes-preserve-unknown-fields``;
* ``type``, ``enum``, ``nullable``, ``required``, ``items``, ``properties``, ``additionalProperties``,
  ``minimum``/``maximum``, ``minLength``/``maxLength``, ``pattern``, ``minItems``/``maxItems``,
  ``x-kubernetes-int-or-string`` and ``anyOf``/``oneOf``/``allOf``/``not`` are checked;
* ``metadata`` is checked like ObjectMeta: object name, label keys and values, annotation keys.

The module is pure: nothing is read at import time; the CRD files are parsed once, on first use.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

# The reasons of Kubernetes' field.ErrorType, as they appear in Status.details.causes[].reason.
FIELD_VALUE_REQUIRED = "FieldValueRequired"
FIELD_VALUE_INVALID = "FieldValueInvalid"
FIELD_VALUE_NOT_SUPPORTED = "FieldValueNotSupported"
FIELD_VALUE_TYPE_INVALID = "FieldValueTypeInvalid"
FIELD_VALUE_TOO_LONG = "FieldValueTooLong"
FIELD_VALUE_TOO_MANY = "FieldValueTooMany"
FIELD_VALUE_FORBIDDEN = "FieldValueForbidden"
# Not a Kubernetes field.ErrorType: the API server reports unknown fields as a strict decoding
# error (or a warning); this reason lets callers of this module tell them apart.
FIELD_VALUE_UNKNOWN = "FieldValueUnknown"

_ERROR_TYPE_TEXT = {
    FIELD_VALUE_REQUIRED: "Required value",
    FIELD_VALUE_INVALID: "Invalid value",
    FIELD_VALUE_NOT_SUPPORTED: "Unsupported value",
    FIELD_VALUE_TYPE_INVALID: "Invalid value",
    FIELD_VALUE_TOO_LONG: "Too long",
    FIELD_VALUE_TOO_MANY: "Too many",
    FIELD_VALUE_FORBIDDEN: "Forbidden",
}
# Error types whose text never shows the offending value (as in field.Error.ErrorBody).
_VALUELESS_TYPES = {FIELD_VALUE_REQUIRED, FIELD_VALUE_FORBIDDEN, FIELD_VALUE_TOO_LONG}

_CRD_PACKAGE = "airflow_provider_flink"
_CRD_DIR = "crds"

# Fields of ObjectMeta: anything else under metadata is dropped by the API server.
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_IMPLICIT_ROOT_FIELDS = ("apiVersion", "kind", "metadata")

DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1123_LABEL_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)

_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    f"validation is '{_DNS1123_SUBDOMAIN_FMT}')"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    f"regex used for validation is '{_DNS1035_LABEL_FMT}')"
)
_QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
    f"is '{_QUALIFIED_NAME_FMT}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    f"regex used for validation is '{_LABEL_VALUE_FMT}')"
)


def _go_value(value: Any) -> str:
    """Render a value the way Go's field errors print a bad value (%q for strings, %v for scalars)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _go_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value).replace("e+0", "e+").replace("e-0", "e-")


@dataclass(frozen=True)
class FieldError:
    """
    One field-level validation error, shaped like a cause in a Kubernetes ``Status``.

    :param field: path of the offending field, e.g. ``spec.job.upgradeMode`` or ``spec.args[0]``.
    :param reason: Kubernetes cause reason, e.g. ``FieldValueNotSupported``.
    :param detail: the message without the field path, as in ``Status.details.causes[].message``.
    """

    field: str
    reason: str
    detail: str

    @property
    def message(self) -> str:
        """The full message, as the API server prints it inside an Invalid status message."""
        if self.reason == FIELD_VALUE_UNKNOWN or not self.field:
            return self.detail
        return f"{self.field}: {self.detail}"

    def __str__(self) -> str:
        return self.message

    @classmethod
    def build(cls, path: str, reason: str, value: Any = None, detail: str = "") -> FieldError:
        """
        Build an error with the message layout of Kubernetes' ``field.Error``.

        :param path: field path.
        :param reason: one of the ``FIELD_VALUE_*`` reasons.
        :param value: the offending value (not shown for Required, Forbidden and TooLong).
        :param detail: extra explanation appended after the value.
        """
        body = _ERROR_TYPE_TEXT.get(reason, "Invalid value")
        if reason not in _VALUELESS_TYPES:
            body += f": {_go_value(value)}"
        if detail:
            body += f": {detail}"
        return cls(field=path, reason=reason, detail=body)

    @classmethod
    def unknown(cls, path: str) -> FieldError:
        """An unknown (pruned) field, with the API server's strict-decoding wording."""
        return cls(field=path, reason=FIELD_VALUE_UNKNOWN, detail=f'unknown field "{path}"')


@dataclass(frozen=True)
class CrdVersion:
    """One served version of a CustomResourceDefinition."""

    name: str
    served: bool
    storage: bool
    schema: Mapping[str, Any]
    status_subresource: bool
    scale_subresource: Mapping[str, Any] | None


@dataclass(frozen=True)
class CustomResourceDefinition:
    """The parts of a CustomResourceDefinition that clients and the API server act on."""

    group: str
    kind: str
    list_kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool
    versions: tuple[CrdVersion, ...]
    definition: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """The CRD's own object name, ``<plural>.<group>``."""
        return f"{self.plural}.{self.group}"

    @property
    def storage_version(self) -> CrdVersion:
        """The version objects are stored in."""
        return next((v for v in self.versions if v.storage), self.versions[0])

    def version(self, name: str) -> CrdVersion | None:
        """Return the served version called ``name``, or None."""
        return next((v for v in self.versions if v.name == name and v.served), None)


def parse_crd(definition: Mapping[str, Any]) -> CustomResourceDefinition:
    """
    Read a ``apiextensions.k8s.io/v1`` CustomResourceDefinition document.

    :param definition: the CRD as a dict (as loaded from YAML or JSON).
    """
    spec = definition["spec"]
    names = spec["names"]
    versions = []
    for version in spec["versions"]:
        subresources = version.get("subresources") or {}
        versions.append(
            CrdVersion(
                name=version["name"],
                served=bool(version.get("served", True)),
                storage=bool(version.get("storage", False)),
                schema=(version.get("schema") or {}).get("openAPIV3Schema") or {},
                status_subresource="status" in subresources,
                scale_subresource=subresources.get("scale"),
            )
        )
    return CustomResourceDefinition(
        group=spec["group"],
        kind=names["kind"],
        list_kind=names.get("listKind") or names["kind"] + "List",
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        short_names=tuple(names.get("shortNames") or ()),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        versions=tuple(versions),
        definition=definition,
    )


def _yaml_loader() -> type[yaml.SafeLoader]:
    import yaml

    # The FlinkDeployment CRD is over 500 KB: the C loader parses it about ten times faster.
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def shipped_crd_documents() -> tuple[Mapping[str, Any], ...]:
    """
    The CRD documents shipped in ``airflow_provider_flink/crds``, parsed once.

    Each verbatim ``.yml`` of the Flink operator release has a ``.json`` copy beside it, read instead: a task
    validates its body in a fresh process, and JSON loads in milliseconds where the YAML takes most of a second.
    ``tests/crd_schema`` checks that each copy equals its YAML (:func:`write_json_copies` rewrites them).
    """
    import json
    from importlib import resources

    import yaml

    folder = resources.files(_CRD_PACKAGE).joinpath(_CRD_DIR)
    documents = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yml", ".yaml")):
            json_copy = folder.joinpath(entry.name.rsplit(".", 1)[0] + ".json")
            if json_copy.is_file():
                documents.append(json.loads(json_copy.read_bytes()))
                continue
            with entry.open("rb") as handle:
                documents.append(yaml.load(handle, Loader=_yaml_loader()))
    return tuple(documents)


def write_json_copies(folder: str) -> list[str]:
    """
    Write the ``.json`` copy of each CRD ``.yml`` in ``folder`` (after replacing the CRDs with another release).

    :param folder: The CRD folder, e.g. ``airflow_provider_flink/crds``.
    """
    import json

    import yaml

    written = []
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yml", ".yaml")):
            with open(os.path.join(folder, name), "rb") as handle:
                document = yaml.load(handle, Loader=_yaml_loader())
            target = os.path.join(folder, name.rsplit(".", 1)[0] + ".json")
            with open(target, "w") as handle:
                json.dump(document, handle, separators=(",", ":"), sort_keys=True)
            written.append(target)
    return written


@functools.cache
def shipped_crds() -> tuple[CustomResourceDefinition, ...]:
    """The CustomResourceDefinitions shipped with the provider (FlinkDeployment, FlinkSessionJob, ...)."""
    return tuple(parse_crd(document) for document in shipped_crd_documents())


def crd_for(group: str, plural: str) -> CustomResourceDefinition | None:
    """
    Find a shipped CRD by API group and plural resource name.

    :param group: API group, e.g. ``flink.apache.org``.
    :param plural: plural resource name, e.g. ``flinkdeployments``.
    """
    return next((c for c in shipped_crds() if c.group == group and c.plural == plural), None)


def crd_for_kind(api_version: str, kind: str) -> CustomResourceDefinition | None:
    """
    Find a shipped CRD serving ``kind`` at ``api_version``.

    :param api_version: ``<group>/<version>``, e.g. ``flink.apache.org/v1beta1``.
    :param kind: the object kind, e.g. ``FlinkDeployment``.
    """
    group, _, version = api_version.rpartition("/")
    for crd in shipped_crds():
        if crd.group == group and crd.kind == kind and crd.version(version) is not None:
            return crd
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_matches(value: Any, schema_type: str) -> bool:
    actual = _json_type(value)
    if schema_type == "number":
        return actual in ("integer", "number")
    return actual == schema_type


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate_value(value: Any, schema: Mapping[str, Any], path: str = "") -> list[FieldError]:
    """
    Validate a value against a structural openAPIV3Schema node.

    Unknown fields are not reported here (see :func:`prune_unknown_fields`).

    :param value: the value (plain JSON data).
    :param schema: the schema node.
    :param path: the field path of ``value``, used in the errors.
    """
    errors: list[FieldError] = []
    _validate(value, schema, path, errors)
    return errors


def _validate(value: Any, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    if not _check_type(value, schema, path, errors):
        return
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_go_value(v) for v in schema["enum"])
        errors.append(FieldError.build(path, FIELD_VALUE_NOT_SUPPORTED, value, f"supported values: {supported}"))
    _check_composition(value, schema, path, errors)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)
    elif isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, list):
        _check_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, path, errors)


def _check_type(value: Any, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> bool:
    """Report a type mismatch; return False when deeper checks make no sense."""
    if value is None:
        if schema.get("nullable") or ("type" not in schema and not schema.get("x-kubernetes-int-or-string")):
            return True
        expected = "integer,string" if schema.get("x-kubernetes-int-or-string") else schema["type"]
        errors.append(_type_error(path, expected, value))
        return False
    if schema.get("x-kubernetes-int-or-string"):
        if _json_type(value) in ("integer", "string"):
            return True
        errors.append(_type_error(path, "integer,string", value))
        return False
    schema_type = schema.get("type")
    if schema_type and not _type_matches(value, schema_type):
        errors.append(_type_error(path, schema_type, value))
        return False
    return True


def _type_error(path: str, expected: str, value: Any) -> FieldError:
    actual = _json_type(value)
    return FieldError.build(
        path, FIELD_VALUE_TYPE_INVALID, actual, f'{path} in body must be of type {expected}: "{actual}"'
    )


def _check_composition(value: Any, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    for sub in schema.get("allOf") or ():
        _validate(value, sub, path, errors)
    # x-kubernetes-int-or-string nodes carry anyOf [integer, string], already checked as one type.
    if (
        schema.get("anyOf")
        and not schema.get("x-kubernetes-int-or-string")
        and not any(not validate_value(value, sub, path) for sub in schema["anyOf"])
    ):
        errors.append(
            FieldError.build(
                path,
                FIELD_VALUE_INVALID,
                value,
                f"{path} in body must validate at least one schema (anyOf)",
            )
        )
    if schema.get("oneOf"):
        passing = sum(1 for sub in schema["oneOf"] if not validate_value(value, sub, path))
        if passing != 1:
            errors.append(
                FieldError.build(
                    path,
                    FIELD_VALUE_INVALID,
                    value,
                    f"{path} in body must validate one and only one schema (oneOf)",
                )
            )
    if schema.get("not") is not None and not validate_value(value, schema["not"], path):
        errors.append(
            FieldError.build(path, FIELD_VALUE_INVALID, value, f"{path} in body must not validate the schema (not)")
        )


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            detail = f"{path} in body should be greater than {_go_value(minimum)}"
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
        elif value < minimum:
            detail = f"{path} in body should be greater than or equal to {_go_value(minimum)}"
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            detail = f"{path} in body should be less than {_go_value(maximum)}"
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
        elif value > maximum:
            detail = f"{path} in body should be less than or equal to {_go_value(maximum)}"
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
    multiple = schema.get("multipleOf")
    if multiple and not math.isclose(value / multiple, round(value / multiple)):
        detail = f"{path} in body should be a multiple of {_go_value(multiple)}"
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    max_length, min_length = schema.get("maxLength"), schema.get("minLength")
    if max_length is not None and len(value) > max_length:
        errors.append(FieldError.build(path, FIELD_VALUE_TOO_LONG, value, f"may not be more than {max_length} bytes"))
    if min_length is not None and len(value) < min_length:
        detail = f"{path} in body should be at least {min_length} chars long"
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
    pattern = schema.get("pattern")
    if pattern and not _compiled(pattern).search(value):
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, f"{path} in body should match '{pattern}'"))


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_array(value: list[Any], schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    max_items, min_items = schema.get("maxItems"), schema.get("minItems")
    if max_items is not None and len(value) > max_items:
        errors.append(FieldError.build(path, FIELD_VALUE_TOO_MANY, len(value), f"must have at most {max_items} items"))
    if min_items is not None and len(value) < min_items:
        detail = f"{path} in body should have at least {min_items} items"
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                errors.append(FieldError.build(f"{path}[{index}]", "FieldValueDuplicate", item))
            seen.append(item)
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(FieldError.build(_child(path, name), FIELD_VALUE_REQUIRED))
    max_props, min_props = schema.get("maxProperties"), schema.get("minProperties")
    if max_props is not None and len(value) > max_props:
        errors.append(FieldError.build(path, FIELD_VALUE_TOO_MANY, len(value), f"must have at most {max_props} items"))
    if min_props is not None and len(value) < min_props:
        detail = f"{path} in body should have at least {min_props} properties"
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, detail))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _validate(item, properties[key], _child(path, key), errors)
        elif isinstance(additional, Mapping):
            _validate(item, additional, _child(path, key), errors)


def prune_unknown_fields(
    obj: Mapping[str, Any], schema: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """
    Drop the fields a structural schema does not declare, like the API server does on every write.

    ``apiVersion``, ``kind`` and ``metadata`` are always kept at the root; unknown ObjectMeta fields
    are dropped. Without ``schema`` the shipped CRD matching the object's apiVersion and kind is used.

    :param obj: a custom resource (not modified).
    :param schema: the openAPIV3Schema to prune against.
    :return: the pruned copy and the paths of the dropped fields, e.g. ``["spec.foo"]``.
    :raises ValueError: when no schema is given and no shipped CRD serves the object's kind.
    """
    if schema is None:
        schema = _schema_of(obj)
    pruned = copy.deepcopy(dict(obj))
    unknown: list[str] = []
    metadata = pruned.get("metadata")
    if isinstance(metadata, dict):
        for key in [k for k in metadata if k not in OBJECT_META_FIELDS]:
            del metadata[key]
            unknown.append(f"metadata.{key}")
    properties = schema.get("properties") or {}
    for key in [k for k in pruned if k not in _IMPLICIT_ROOT_FIELDS]:
        if key in properties:
            _prune(pruned[key], properties[key], key, unknown)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            del pruned[key]
            unknown.append(key)
    return pruned, unknown


def unknown_fields(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """
    The paths of the fields below ``value`` that ``schema`` does not declare (nothing is changed).

    :param value: the value (plain JSON data).
    :param schema: its schema node.
    :param path: the field path of ``value``.
    """
    unknown: list[str] = []
    _prune(value, schema, path, unknown, delete=False)
    return unknown


def _prune(value: Any, schema: Mapping[str, Any], path: str, unknown: list[str], *, delete: bool = True) -> None:
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or additional is True
        for key in list(value):
            if key in properties:
                _prune(value[key], properties[key], _child(path, key), unknown, delete=delete)
            elif isinstance(additional, Mapping):
                _prune(value[key], additional, _child(path, key), unknown, delete=delete)
            elif not preserve:
                if delete:
                    del value[key]
                unknown.append(_child(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{index}]", unknown, delete=delete)


def _schema_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    crd = crd_for_kind(api_version, kind)
    if crd is None:
        raise ValueError(f"no CustomResourceDefinition shipped for {kind!r} in {api_version!r}")
    version = crd.version(api_version.rpartition("/")[2])
    assert version is not None
    return version.schema


def validate_name(name: Any, *, rule: str = "subdomain", path: str = "metadata.name") -> list[FieldError]:
    """
    Validate an object name like the API server does.

    :param name: the name.
    :param rule: ``subdomain`` (RFC 1123 subdomain, most kinds and all custom resources),
        ``label`` (RFC 1123 label) or ``label1035`` (RFC 1035 label, e.g. Services).
    :param path: field path used in the errors.
    """
    if not isinstance(name, str):
        return [_type_error(path, "string", name)]
    errors: list[FieldError] = []
    if rule == "label1035":
        max_length, regex, message = DNS1123_LABEL_MAX_LENGTH, _DNS1035_LABEL_RE, _DNS1035_LABEL_MSG
    elif rule == "label":
        max_length, regex, message = (
            DNS1123_LABEL_MAX_LENGTH,
            re.compile(_DNS1123_LABEL_FMT),
            _DNS1123_SUBDOMAIN_MSG.replace("subdomain", "label"),
        )
    else:
        max_length, regex, message = (
            DNS1123_SUBDOMAIN_MAX_LENGTH,
            _DNS1123_SUBDOMAIN_RE,
            _DNS1123_SUBDOMAIN_MSG,
        )
    if len(name) > max_length:
        errors.append(
            FieldError.build(path, FIELD_VALUE_INVALID, name, f"must be no more than {max_length} characters")
        )
    if not regex.fullmatch(name):
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, name, message))
    return errors


def _validate_qualified_name(key: str, path: str) -> list[FieldError]:
    prefix, _, name = key.rpartition("/")
    errors = []
    if "/" in prefix:
        detail = (
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character with an optional DNS subdomain prefix and '/'"
        )
        return [FieldError.build(path, FIELD_VALUE_INVALID, key, detail)]
    if "/" in key:
        if not prefix:
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, key, "prefix part must be non-empty"))
        elif len(prefix) > DNS1123_SUBDOMAIN_MAX_LENGTH or not _DNS1123_SUBDOMAIN_RE.fullmatch(prefix):
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, key, "prefix part " + _DNS1123_SUBDOMAIN_MSG))
    if not name:
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, key, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, key, "name part must be no more than 63 characters"))
    elif not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append(FieldError.build(path, FIELD_VALUE_INVALID, key, _QUALIFIED_NAME_MSG))
    return errors


def validate_labels(labels: Any, path: str = "metadata.labels") -> list[FieldError]:
    """
    Validate label keys and values (qualified names, values of at most 63 characters).

    :param labels: the labels mapping.
    :param path: field path used in the errors.
    """
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [_type_error(path, "object", labels)]
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors.extend(_validate_qualified_name(key, path))
        if not isinstance(value, str):
            errors.append(_type_error(_child(path, key), "string", value))
            continue
        if len(value) > LABEL_VALUE_MAX_LENGTH:
            errors.append(
                FieldError.build(
                    path,
                    FIELD_VALUE_INVALID,
                    value,
                    f"must be no more than {LABEL_VALUE_MAX_LENGTH} characters",
                )
            )
        if not _LABEL_VALUE_RE.fullmatch(value):
            errors.append(FieldError.build(path, FIELD_VALUE_INVALID, value, _LABEL_VALUE_MSG))
    return errors


def validate_annotations(annotations: Any, path: str = "metadata.annotations") -> list[FieldError]:
    """
    Validate annotation keys (qualified names), string values and the 256 KiB total size limit.

    :param annotations: the annotations mapping.
    :param path: field path used in the errors.
    """
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [_type_error(path, "object", annotations)]
    errors: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errors.extend(_validate_qualified_name(key.lower(), path))
        if not isinstance(value, str):
            errors.append(_type_error(_child(path, key), "string", value))
            continue
        total += len(key) + len(value.encode())
    if total > 256 * 1024:
        errors.append(FieldError.build(path, FIELD_VALUE_TOO_LONG, None, "must have at most 262144 bytes"))
    return errors


def validate_object_meta(metadata: Any, *, name_rule: str = "subdomain", require_name: bool = True) -> list[FieldError]:
    """
    Validate an object's metadata like the API server's ObjectMeta validation.

    :param metadata: the ``metadata`` mapping.
    :param name_rule: name rule, see :func:`validate_name`.
    :param require_name: whether a missing ``name`` (and ``generateName``) is an error.
    """
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return [_type_error("metadata", "object", metadata)]
    errors: list[FieldError] = []
    name = metadata.get("name")
    if name:
        errors.extend(validate_name(name, rule=name_rule))
    elif require_name and not metadata.get("generateName"):
        errors.append(
            FieldError("metadata.name", FIELD_VALUE_REQUIRED, "Required value: name or generateName is required")
        )
    errors.extend(validate_labels(metadata.get("labels")))
    errors.extend(validate_annotations(metadata.get("annotations")))
    for key in ("finalizers",):
        value = metadata.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            errors.append(_type_error(f"metadata.{key}", "array", value))
    return errors


def validate_custom_resource(
    obj: Mapping[str, Any],
    *,
    strict_unknown_fields: bool = False,
    crd: CustomResourceDefinition | None = None,
    check_metadata: bool = True,
) -> list[FieldError]:
    """
    Validate a custom resource against its CRD, as the API server would on create or update.

    :param obj: the object (apiVersion, kind, metadata, spec, ...).
    :param strict_unknown_fields: report fields the schema does not declare (``fieldValidation=Strict``);
        otherwise they are ignored, as the API server prunes them.
    :param crd: the CRD to use; by default the shipped CRD serving the object's apiVersion and kind.
    :param check_metadata: also validate the name, labels and annotations.
    :return: the errors, empty when the object is valid.
    """
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    if crd is None:
        crd = crd_for_kind(api_version, kind)
    version = crd.version(api_version.rpartition("/")[2]) if crd is not None else None
    if crd is None or version is None or crd.kind != kind:
        return _unknown_kind_errors(api_version, kind, shipped_crds() if crd is None else (crd,))
    errors: list[FieldError] = []
    if check_metadata:
        errors.extend(validate_object_meta(obj.get("metadata")))
    pruned, unknown = prune_unknown_fields(obj, version.schema)
    if strict_unknown_fields:
        errors.extend(FieldError.unknown(path) for path in unknown)
    properties = version.schema.get("properties") or {}
    for key, value in pruned.items():
        if key in properties:
            _validate(value, properties[key], key, errors)
    for name in version.schema.get("required") or ():
        if name not in pruned:
            errors.append(FieldError.build(name, FIELD_VALUE_REQUIRED))
    return errors


def _unknown_kind_errors(api_version: str, kind: str, crds: Iterable[CustomResourceDefinition]) -> list[FieldError]:
    crds = list(crds)
    kinds = [c.kind for c in crds]
    if kind not in kinds:
        supported = ", ".join(_go_value(k) for k in kinds)
        return [FieldError.build("kind", FIELD_VALUE_NOT_SUPPORTED, kind, f"supported values: {supported}")]
    versions = [f"{c.group}/{v.name}" for c in crds if c.kind == kind for v in c.versions if v.served]
    supported = ", ".join(_go_value(v) for v in versions)
    return [FieldError.build("apiVersion", FIELD_VALUE_NOT_SUPPORTED, api_version, f"supported values: {supported}")]


def invalid_message(qualified_kind: str, name: str, errors: list[FieldError]) -> str:
    """
    The message of a 422 Invalid status, e.g. ``FlinkDeployment.flink.apache.org "x" is invalid: ...``.

    :param qualified_kind: ``Kind.group`` (just ``Kind`` for the core group).
    :param name: the object name.
    :param errors: the field errors (one is printed bare, several as a bracketed list).
    """
    messages = []
    for error in errors:
        # The API server de-duplicates identical messages when aggregating.
        if error.message not in messages:
            messages.append(error.message)
    joined = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    return f"{qualified_kind} {json.dumps(name)} is invalid: {joined}"
