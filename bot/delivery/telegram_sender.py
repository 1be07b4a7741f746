"""The Telegram channel: one mailing's messages through the bot, paced by the shared limiter.

The image is uploaded with the first send and then sent by file_id. A caption
carries the text when it fits 1,024 characters; a longer text follows the photo
as its own message. Answers map to rows: 429 pauses every send and retries, 403
marks the guest blocked, 400 fails the row, 5xx and refused connections retry
with backoff. A request that reached Telegram but got no answer is `unknown`:
Telegram has no idempotency key, so resending could show the guest two copies.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import EditMessageText, Response, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Message
from aiohttp import ClientConnectorError

from bot.delivery.base import MAX_TRIES, ChannelDown, Result, backoff, recipient_of, short
from bot.delivery.limiter import RateLimiter
from bot.render import TELEGRAM_CAPTION_LIMIT, RenderContext, TelegramTemplate, telegram_length
from bot.telegram_session import paced_by_caller
from storage.deliveries import PendingDelivery
from storage.mailings import Mailing
from storage.statuses import Channel, DeliveryStatus, GuestMark

FAILED: Final = DeliveryStatus.FAILED
PENDING: Final = DeliveryStatus.PENDING
UNKNOWN: Final = DeliveryStatus.UNKNOWN

log = logging.getLogger(__name__)

# 429s one message may meet before it is handed back unsent (a storm that never ends).
MAX_RATE_LIMITED = 20
REQUEST_TIMEOUT = 30
# pydantic caches aiogram's Response[T] models weakly: a garbage collection drops
# them and the next answer rebuilds one (milliseconds of CPU each, hundreds of
# times in a big mailing). Holding them here keeps them built.
_RESPONSE_MODELS = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (SendMessage, SendPhoto, EditMessageText)
)


class _Failed(Exception):
    """A part of the message could not be sent; carries the row's result."""

    def __init__(self, result: Result) -> None:
        """Carry the row's result up to send()."""
        super().__init__(result.text)
        self.result = result


def telegram_workers(rate: float) -> int:
    """Concurrent Telegram sends per run: enough to keep `rate` up at ~250 ms per request."""
    return max(4, min(32, math.ceil(rate / 4)))


def _not_sent(exc: TelegramNetworkError) -> bool:
    """True when the request never reached Telegram (no connection could be made)."""
    return isinstance(exc.__cause__, ClientConnectorError)


async def _wait_or_fail(tries: int, failed: Result) -> None:
    """Wait before the next try of a call that failed `tries` times, or give up with
    `failed` after MAX_TRIES."""
    if tries >= MAX_TRIES:
        raise _Failed(failed) from None
    await asyncio.sleep(backoff(tries))


class TelegramSender:
    """Sends one mailing to guests' Telegram chats."""

    channel = Channel.TELEGRAM

    def __init__(
        self,
        bot: Bot,
        limiter: RateLimiter,
        mailing: Mailing,
        ctx: Callable[[], RenderContext],
        *,
        data_dir: Path,
        workers: int,
        save_file_id: Callable[[str | None], Awaitable[None]],
    ) -> None:
        """Send `mailing` through `bot`; `save_file_id` stores the uploaded image's id."""
        self.bot = bot
        self.limiter = limiter
        self.mailing = mailing
        self.ctx = ctx
        self.data_dir = data_dir
        self.workers = workers
        self.save_file_id = save_file_id
        self.file_id = mailing.image_file_id
        self._template: TelegramTemplate | None = None  # parsed at the first send, once
        self._upload_lock = asyncio.Lock()
        self._image: bytes | None = None
        self._uploaded: Message | None = None

    async def ready(self, slot: int) -> None:
        """Wait for a slot of the bot-wide rate."""
        await self.limiter.acquire()

    async def close(self) -> None:
        """Nothing to release: the bot's HTTP session is the application's."""

    async def send(self, slot: int, row: PendingDelivery) -> Result:
        """Send the mailing to one chat: photo (with caption) and/or text."""
        try:
            chat_id = int(row.address)
        except ValueError:
            return Result(FAILED, "bad_address", f"not a Telegram chat id: {row.address!r}")
        text = None
        if self.mailing.text_html:
            if self._template is None:  # a bad template fails each row, as rendering did
                self._template = TelegramTemplate(self.mailing.text_html)
            text = self._template.render(recipient_of(row), self.ctx())
        ids: list[str] = []
        try:
            if self.mailing.image_path:
                fits = text is None or telegram_length(text) <= TELEGRAM_CAPTION_LIMIT
                ids.append(await self._photo(chat_id, text if fits else None))
                if not fits and text is not None:
                    await self.limiter.acquire()
                    ids.append(await self._call(SendMessage(chat_id=chat_id, text=text)))
            elif text is not None:
                ids.append(await self._call(SendMessage(chat_id=chat_id, text=text)))
            else:
                return Result(FAILED, "empty", "the mailing has neither text nor image")
        except _Failed as failed:
            result = failed.result
            if ids:  # the photo arrived: sending everything again would repeat it
                result = result._replace(
                    status=FAILED if result.status == PENDING else result.status,
                    text=short(f"only the photo arrived: {result.text}"),
                    partial=True,
                )
            return result
        return Result.sent(",".join(ids))

    async def _photo(self, chat_id: int, caption: str | None) -> str:
        """Send the photo by file_id, uploading it if no file_id is known yet."""
        for _ in range(2):
            if self.file_id is None:
                async with self._upload_lock:
                    if self.file_id is None:
                        return await self._upload(chat_id, caption)
            file_id = self.file_id
            try:
                return await self._call(SendPhoto(chat_id=chat_id, photo=file_id, caption=caption))
            except _Failed as failed:
                if failed.result.code != "bad_file_id":
                    raise
                # Telegram no longer knows the file (another bot token?): upload again.
                log.warning("mailing %d: Telegram refused the image's file_id", self.mailing.id)
                if self.file_id == file_id:
                    self.file_id = None
                    await self.save_file_id(None)
                await self.limiter.acquire()  # the upload is one more send
        raise _Failed(Result(FAILED, "bad_file_id", "Telegram refused the image"))

    async def _upload(self, chat_id: int, caption: str | None) -> str:
        """Send the photo as an upload (the first send of the run) and keep its file_id."""
        if self._image is None:
            assert self.mailing.image_path is not None
            path = self.data_dir / self.mailing.image_path
            try:
                self._image = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                raise ChannelDown(
                    "image_missing", f"the image {path} cannot be read: {exc.strerror}", fatal=True
                ) from None
        photo = BufferedInputFile(self._image, filename=Path(self.mailing.image_path or "").name)
        message_id = await self._call(
            SendPhoto(chat_id=chat_id, photo=photo, caption=caption), keep=True
        )
        if self._uploaded is not None and self._uploaded.photo:
            self.file_id = self._uploaded.photo[-1].file_id
            await self.save_file_id(self.file_id)
        return message_id

    async def _call(self, method: SendMessage | SendPhoto, *, keep: bool = False) -> str:
        """Make one Bot API call, retrying 429, 5xx and refused connections; the message id.

        Any other failure raises _Failed with the row's result. `keep` keeps the
        answer (the upload's, whose file_id is wanted).
        """
        tries = rate_limited = 0
        while True:
            try:
                with paced_by_caller():  # its slot was taken above: no second one
                    message = await self.bot(method)
                if keep:
                    self._uploaded = message
                return str(message.message_id)
            except TelegramRetryAfter as exc:
                self.limiter.pause(exc.retry_after)
                rate_limited += 1
                if rate_limited >= MAX_RATE_LIMITED:
                    raise _Failed(
                        Result(PENDING, "rate_limited", short(exc.message), channel_failure=True)
                    ) from None
            except TelegramForbiddenError as exc:
                raise _Failed(
                    Result(FAILED, "blocked", short(exc.message), mark_guest=GuestMark.TG_BLOCKED)
                ) from None
            except TelegramBadRequest as exc:
                raise _Failed(self._bad_request(exc)) from None
            except TelegramUnauthorizedError as exc:
                raise _Failed(
                    Result(PENDING, "unauthorized", short(exc.message), channel_failure=True)
                ) from None
            except TelegramServerError as exc:
                tries += 1
                text = f"Telegram error after {tries} tries: {exc.message}"
                failed = Result(FAILED, "telegram_error", short(text), channel_failure=True)
                await _wait_or_fail(tries, failed)
            except TelegramEntityTooLarge as exc:
                raise _Failed(Result(FAILED, "too_large", short(exc.message))) from None
            except TelegramNetworkError as exc:
                if not _not_sent(exc):
                    text = f"no answer from Telegram ({exc.message}); it may have arrived"
                    # Counts towards pausing: a link that swallows requests would
                    # otherwise turn the whole segment into `unknown` one by one.
                    raise _Failed(
                        Result(UNKNOWN, "no_answer", short(text), channel_failure=True)
                    ) from None
                tries += 1
                text = f"Telegram cannot be reached: {exc.message}"
                failed = Result(PENDING, "unreachable", short(text), channel_failure=True)
                await _wait_or_fail(tries, failed)
            except TelegramAPIError as exc:
                raise _Failed(Result(FAILED, "telegram_error", short(exc.message))) from None
            await self.limiter.acquire()

    @staticmethod
    def _bad_request(exc: TelegramBadRequest) -> Result:
        """A 400 answer as the row's result."""
        message = exc.message.lower()
        if "chat not found" in message:
            return Result(FAILED, "chat_not_found", short(exc.message))
        if "file identifier" in message or "wrong file" in message or "file_id" in message:
            return Result(FAILED, "bad_file_id", short(exc.message))
        return Result(FAILED, "bad_request", short(exc.message))
