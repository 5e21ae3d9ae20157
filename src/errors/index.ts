export { ErrorRegistry, errorSpec, type ErrorCode, type ErrorKind, type ErrorSpec } from './registry.js';
export {
  OutpostError,
  isOutpostError,
  toOutpostError,
  type ErrorDetails,
  type SerializedError,
} from './outpost-error.js';
export { renderErrorsDoc } from './docs.js';
