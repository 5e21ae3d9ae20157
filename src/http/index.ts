export { readLimitedBody, sendJson, socketAnswers } from './json-http.js';
