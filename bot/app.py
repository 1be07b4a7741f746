"""Application factory: settings -> database, bot, dispatcher, routers, middlewares."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.strategy import FSMStrategy
from aiogram.types import User
from aiogram.utils.i18n import I18n

from bot.config import ConfigError, Settings
from bot.database import open_database
from bot.delivery.engine import DeliveryEngine
from bot.guests import GuestService
from bot.history import HistoryService
from bot.i18n import LocaleMiddleware, create_i18n
from bot.inbox.service import InboxService
from bot.journal import JournalService
from bot.mailing_settings import MailingSettingsService
from bot.mailings import MailingService
from bot.promotions.service import PromotionService, utc_now
from bot.quiet_hours import LimitsService
from bot.scheduler import MailingScheduler
from bot.secrets import SecretBox, SecretKeyError
from bot.segments import SegmentService
from bot.services import Services
from bot.startup import check_token, set_menus_if_possible
from bot.telegram_session import install as install_budget
from bot.unsubscribe import UnsubscribeTokens
from handlers import get_routers
from handlers.errors import on_error
from handlers.mailing_run import RunKeyboards
from handlers.middlewares import AccessMiddleware
from handlers.settings.inbox_views import InboxInContext
from storage.audit import AuditLog
from storage.db import Database
from storage.fsm import SQLiteStorage
from storage.prefs import AdminPrefsRepository

log = logging.getLogger(__name__)


@dataclass
class Application:
    """Everything one running bot holds; `close()` releases it."""

    settings: Settings
    db: Database
    bot: Bot
    dispatcher: Dispatcher
    i18n: I18n
    me: User
    services: Services

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Poll the Bot API until SIGINT/SIGTERM or `dispatcher.stop_polling()`."""
        await self.dispatcher.start_polling(
            self.bot,
            handle_signals=handle_signals,
            close_bot_session=False,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def close(self) -> None:
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.db.close()


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def load_secret_box(settings: Settings) -> SecretBox:
    """The key that encrypts the SMTP password; a broken key file ends the start."""
    try:
        return SecretBox.load_or_create(settings.data_dir)
    except SecretKeyError as exc:
        raise ConfigError(f"DATA_DIR: {exc}") from None


async def create_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Application:
    """Build the whole bot; raises ConfigError (one line) when it cannot start. `clock` is
    the promotions' and the scheduler's (tests simulate days with it)."""
    db = await open_database(settings)
    bot = create_bot(settings)
    try:
        me = await check_token(bot, settings)
        i18n = create_i18n(settings.locale)
        prefs = AdminPrefsRepository(db)
        locale_middleware = LocaleMiddleware(i18n, settings.admin_ids, await prefs.locales())
        audit = AuditLog(db)
        secret_box = load_secret_box(settings)
        mailing_settings = MailingSettingsService(db, secret_box, audit)
        # The delivery engine and the scheduler; started and stopped with polling.
        engine = DeliveryEngine(
            db,
            bot,
            settings,
            mailing_settings,
            i18n,
            keyboards=RunKeyboards(),
            bot_username=me.username,
        )
        # Every message the bot sends or edits takes a slot of the engine's one limiter.
        install_budget(bot, engine.limiter)
        guests = GuestService(db)
        tokens = UnsubscribeTokens.from_secret_box(secret_box)
        promotions = PromotionService(db, settings, now=clock)
        services = Services(
            settings=settings,
            audit=audit,
            prefs=prefs,
            guests=guests,
            journal=JournalService(db),
            mailings=MailingService(db, settings),
            mailing_settings=mailing_settings,
            unsubscribe_tokens=tokens,
            engine=engine,
            segments=SegmentService(db, settings),
            limits=LimitsService(db, settings.tz),
            # Reads the sender's mailbox for unsubscribe requests and bounce reports.
            inbox=InboxService(db, secret_box, audit, guests, tokens, mailing_settings),
            scheduler=MailingScheduler(db, engine, settings, promotions),
            promotions=promotions,
            history=HistoryService(db, settings),
        )
        dispatcher = Dispatcher(
            storage=SQLiteStorage(db, DefaultKeyBuilder(with_destiny=True)),
            fsm_strategy=FSMStrategy.USER_IN_CHAT,
            **services.workflow_data(),
        )
        dispatcher.update.outer_middleware(AccessMiddleware(settings.admin_ids))
        locale_middleware.setup(dispatcher)
        dispatcher.update.middleware(InboxInContext())
        dispatcher.include_routers(*get_routers())
        dispatcher.errors.register(on_error)
        dispatcher.startup.register(engine.start)
        dispatcher.startup.register(services.scheduler.start)
        dispatcher.startup.register(services.inbox.start)
        dispatcher.shutdown.register(services.inbox.stop)
        dispatcher.shutdown.register(services.scheduler.shutdown)
        dispatcher.shutdown.register(engine.stop)
        await set_menus_if_possible(bot, settings, i18n)
    except BaseException:
        await bot.session.close()
        await db.close()
        raise
    log.info("bot @%s ready; %d admin(s)", me.username, len(settings.admin_ids))
    return Application(settings, db, bot, dispatcher, i18n, me, services)


async def run(settings: Settings, *, handle_signals: bool = True) -> None:
    """Start the bot and poll until SIGINT/SIGTERM (or stop_polling in tests)."""
    app = await create_app(settings)
    # What start-up built (modules, aiogram's models) lives as long as the process:
    # frozen, the garbage collector stops rescanning it during big mailings.
    gc.freeze()
    try:
        await app.run_polling(handle_signals=handle_signals)
    finally:
        await app.close()
