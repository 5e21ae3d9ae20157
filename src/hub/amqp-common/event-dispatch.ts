import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

type Dispatch = (this: DispatchTarget, name: string, ...args: unknown[]) => boolean;
interface DispatchTarget extends EventEmitter {
  readonly observers?: EventEmitter;
  readonly session?: DispatchTarget;
  readonly connection?: DispatchTarget;
  readonly container?: DispatchTarget;
  dispatch: Dispatch;
}
type Prototype = { dispatch: Dispatch };

const rheaRequire = createRequire(import.meta.url);
const emit = EventEmitter.prototype.emit;

let installed = false;

/** A link's or a session's dispatch: its observers, then its own listeners, else the level `up`. */
function observedDispatch(original: Dispatch, up: (self: DispatchTarget) => DispatchTarget): Dispatch {
  return function dispatchObserved(this: DispatchTarget, name: string, context?: unknown): boolean {
    if (arguments.length !== 2) return original.apply(this, arguments as unknown as [string, ...unknown[]]);
    emit.call(this.observers, name, context);
    if (this.listenerCount(name) > 0) {
      emit.call(this, name, context);
      return true;
    }
    return up(this).dispatch(name, context);
  };
}

/**
 * rhea's events (a message arrived, a delivery was accepted or settled) go link → session →
 * connection → container until one has a listener, and each `dispatch` on the way took
 * `this.listeners(name).length`, a copy of the listener array, and re-spread its `arguments`:
 * for every transfer received and every disposition of one sent. These do what rhea's do, in the
 * same order (its observers first, then its own listeners, else the next one up), for the call
 * rhea makes, an event name and one context; any other call goes to rhea's own.
 */
export function installFastDispatch(): void {
  if (installed) return;
  installed = true;
  const links = rheaRequire('rhea/lib/link.js') as { Sender: { prototype: Prototype } };
  const link = Object.getPrototypeOf(links.Sender.prototype) as Prototype;
  const session = (rheaRequire('rhea/lib/session.js') as { prototype: Prototype }).prototype;
  const connection = (rheaRequire('rhea/lib/connection.js') as { prototype: Prototype }).prototype;
  // container.js exports a container (rhea's default one), not its constructor.
  const container = Object.getPrototypeOf(rheaRequire('rhea/lib/container.js')) as Prototype;

  link.dispatch = observedDispatch(link.dispatch, (self) => self.session!);
  session.dispatch = observedDispatch(session.dispatch, (self) => self.connection!);
  const connectionDispatch = connection.dispatch;
  connection.dispatch = function dispatchOnConnection(this: DispatchTarget, name: string, context?: unknown): boolean {
    if (arguments.length !== 2) return connectionDispatch.apply(this, arguments as unknown as [string, ...unknown[]]);
    if (this.listenerCount(name) > 0) {
      emit.call(this, name, context);
      return true;
    }
    return this.container ? this.container.dispatch(name, context) : false;
  };
  const containerDispatch = container.dispatch;
  container.dispatch = function dispatchOnContainer(this: DispatchTarget, name: string, context?: unknown): boolean {
    if (arguments.length !== 2) return containerDispatch.apply(this, arguments as unknown as [string, ...unknown[]]);
    emit.call(this, name, context);
    return this.listenerCount(name) > 0;
  };
}
