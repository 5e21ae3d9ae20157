export { MethodService, type MethodObserver, type MethodServiceOptions } from './method-service.js';
export { parseMethodCall, type MethodCallParse } from './parse-method-call.js';
export { MethodErrorCode, MethodHttpStatus, MethodLimits, methodError, type MethodAnswer, type MethodCall, type MethodErrorKind } from './method-types.js';
