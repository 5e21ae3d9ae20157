export { createLogger, LogLevels, type LogLevel, type Logger, type LoggerOptions } from './logger.js';
export { RateLimitedLog } from './rate-limited.js';
