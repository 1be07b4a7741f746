"""Which column holds what: header names in Russian or English, with their synonyms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Field -> header names people use. Matching ignores case, spaces, punctuation and ё/е.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": (
        "Телефон", "Мобильный телефон", "Номер телефона", "Моб. телефон", "Мобильный",
        "Телефон гостя", "Телефон клиента", "Контактный телефон", "Тел.", "Сотовый",
        "Phone", "Mobile", "Phone number", "Mobile phone", "Tel", "Telephone",
    ),
    "email": ("Email", "E-mail", "Эл. почта", "Электронная почта", "Почта", "Mail"),
    "last_name": ("Фамилия", "Last name", "Surname", "Family name"),
    "first_name": ("Имя", "First name", "Name", "Given name"),
    "middle_name": ("Отчество", "Middle name", "Patronymic"),
    "full_name": (
        "ФИО", "Full name", "Фамилия Имя Отчество", "Ф.И.О.", "Клиент", "Гость", "ФИО гостя",
        "ФИО клиента", "Customer", "Guest",
    ),
    "sex": ("Пол", "Sex", "Gender"),
    "balance": (
        "Баланс", "Бонусы", "Бонусный баланс", "Бонусный счёт", "Баллы", "Остаток бонусов",
        "Баланс бонусов", "Balance", "Bonus balance", "Bonuses", "Points",
    ),
    "birthday": (
        "Дата рождения", "День рождения", "Дата рожд.", "Д.р.", "ДР", "Birthday",
        "Date of birth", "Birth date", "DOB",
    ),
    "card_number": (
        "Номер карты", "Карта", "№ карты", "Карта №", "Бонусная карта", "Номер бонусной карты",
        "Карта гостя", "Card", "Card number", "Card No",
    ),
    "account_group": ("Группа", "Группа счетов", "Group", "Account group", "Tier"),
    "tags": ("Теги", "Тэги", "Метки", "Tags"),
    "registered_at": (
        "Дата регистрации", "Зарегистрирован", "Registration date", "Registered",
    ),
    "last_visit_at": ("Последний визит", "Дата последнего визита", "Last visit"),
    "visits_count": (
        "Визиты", "Количество визитов", "Число визитов", "Кол-во визитов", "Посещения",
        "Visits", "Visits count",
    ),
    "total_spent": (
        "Сумма покупок", "Потрачено", "Сумма чеков", "Сумма заказов", "Total spent", "Spent",
    ),
}  # fmt: skip

# The columns of an export, in order; an exported file imports back unchanged.
EXPORT_FIELDS: tuple[str, ...] = (
    "phone", "last_name", "first_name", "middle_name", "email", "sex", "birthday", "balance",
    "card_number", "account_group", "tags", "registered_at", "last_visit_at", "visits_count",
    "total_spent",
)  # fmt: skip
_ENGLISH = {
    "phone": "Phone", "last_name": "Last name", "first_name": "First name",
    "middle_name": "Middle name", "email": "Email", "sex": "Sex", "birthday": "Birthday",
    "balance": "Balance", "card_number": "Card number", "account_group": "Group", "tags": "Tags",
    "registered_at": "Registration date", "last_visit_at": "Last visit", "visits_count": "Visits",
    "total_spent": "Total spent",
}  # fmt: skip


def header_key(name: str) -> str:
    """A header reduced for matching: "E-mail " -> "email", "Ёмкость" -> "емкость"."""
    return "".join(ch for ch in name.casefold().replace("ё", "е") if ch.isalnum())


_BY_KEY: dict[str, str] = {
    header_key(name): fld for fld, names in SYNONYMS.items() for name in (*names, fld)
}
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def export_headers(locale: str) -> list[str]:
    """Header names for an export in the admin's language ("ru" or "en")."""
    if locale == "ru":
        return [SYNONYMS[f][0] for f in EXPORT_FIELDS]
    return [_ENGLISH[f] for f in EXPORT_FIELDS]


def field_of(header: str) -> str | None:
    """The field a header names, or None; "Баланс (руб.)" is read as "Баланс"."""
    key = header_key(header)
    if key in _BY_KEY:
        return _BY_KEY[key]
    return _BY_KEY.get(header_key(_BRACKETS.sub("", header)))


def header_text(value: Any) -> str:
    """A header cell as text ("" when blank)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\ufeff", "").strip()


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each known field is in a row, and which named columns were ignored."""

    headers: tuple[str, ...]  # as written in the file ("" for a blank header)
    fields: dict[str, int]  # field -> column index
    unknown: tuple[str, ...]  # named columns ignored (unknown, or a repeated field)

    @classmethod
    def from_headers(cls, cells: Sequence[Any]) -> ColumnMap:
        headers = tuple(header_text(c) for c in cells)
        fields: dict[str, int] = {}
        unknown: list[str] = []
        for index, name in enumerate(headers):
            if not name:
                continue
            fld = field_of(name)
            if fld is None or fld in fields:
                unknown.append(name)
            else:
                fields[fld] = index
        return cls(headers, fields, tuple(unknown))

    def display_headers(self, width: int) -> list[str]:
        """Names for the first `width` columns, "#N" where a header is blank."""
        names = list(self.headers[:width])
        names += [""] * (width - len(names))
        return [name or f"#{i + 1}" for i, name in enumerate(names)]
