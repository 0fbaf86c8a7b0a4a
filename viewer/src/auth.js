// Signing in and out. The account section is the sign-in page: a skip link at the top of the
// page ("Sign in", or "Sign out" when signed in) takes the keyboard straight to its name field
// (or the sign-out button). The form posts `{"name", "password", "session": true}` to
// /api/login; the server answers either with a cookie session and a CSRF value, or (older servers) with a
// bearer token: api.js keeps whichever it got. A wrong password says so; too many failures
// (429) say how many seconds to wait, counting down. Signing out ends the session on the
// server (its row deleted, its cookies cleared). What a user may see changes the style and the
// catalog, and every module (layers, compare, search, trends) was built from them, so the page
// reloads itself, keeping the camera, rather than patching each one.
import { fetchMe, forgetLogin, postJson, rememberLogin } from './api.js';
import { tr } from './i18n.js';

const CAMERA_KEY = 'onemap.camera';

/** The camera saved before a sign-in/out reload (used once), or null. */
export function takeSavedCamera() {
  try {
    const text = sessionStorage.getItem(CAMERA_KEY);
    sessionStorage.removeItem(CAMERA_KEY);
    const cam = text ? JSON.parse(text) : null;
    return cam && Array.isArray(cam.center) && Number.isFinite(cam.zoom) ? cam : null;
  } catch {
    return null;
  }
}

function reloadKeepingCamera(map) {
  try {
    if (map) sessionStorage.setItem(CAMERA_KEY, JSON.stringify({ center: map.getCenter().toArray(), zoom: map.getZoom() }));
  } catch { /* no storage: the page opens on the county */ }
  window.location.reload();
}

/**
 * Wires the account section. `getMap()` gives the main map (for the camera).
 * @returns {{ user: object|null, ready: Promise, signIn(name, password), signOut() }}
 */
export function enableAuth(section, getMap) {
  const form = section.querySelector('#login-form');
  const who = section.querySelector('#account-user');
  const logout = section.querySelector('#logout');
  const status = section.querySelector('#login-status');
  const ctl = { user: null, ready: null, signIn, signOut };

  const skip = document.getElementById('skip-to-login');
  const show = () => {
    const u = ctl.user;
    if (skip) {
      skip.dataset.en = u ? 'Sign out' : 'Sign in';
      skip.textContent = u ? tr('退出登录', 'Sign out') : tr('登录', 'Sign in');
    }
    form.hidden = Boolean(u);
    logout.hidden = !u;
    who.textContent = u
      ? tr(`已登录：${u.name}（${u.department_name_zh ?? u.department ?? ''}，${u.role ?? ''}）`,
        `Signed in as ${u.name} (${u.department_name_en ?? u.department ?? ''}, ${u.role ?? ''})`)
      : tr('未登录：只显示公开图层', 'Not signed in: public layers only');
  };

  async function signIn(name, password) {
    status.textContent = '';
    try {
      const answer = await postJson('/api/login', { name, password, session: true });
      rememberLogin(answer);
      ctl.user = answer.user ?? null;
      reloadKeepingCamera(getMap());
      return answer.user;
    } catch (err) {
      if (err.status === 429) {
        throttled(err.retryAfter);
      } else {
        status.textContent = err.status === 401
          ? tr('用户名或密码错误', 'Wrong name or password')
          : `${tr('登录失败', 'Sign-in failed')}: ${err.message}`;
      }
      form.querySelector('#login-password')?.select();
      return null;
    }
  }

  // Too many failed sign-ins: say how long to wait, and count it down.
  let countdown = null;
  function throttled(seconds) {
    clearInterval(countdown);
    let left = Math.max(1, Math.ceil(seconds ?? 60));
    const say = () => {
      status.textContent = left > 0
        ? tr(`登录失败次数过多，请 ${left} 秒后再试`, `Too many failed sign-ins: try again in ${left} s`)
        : tr('可以再次登录', 'You may sign in again');
    };
    say();
    countdown = setInterval(() => {
      left -= 1;
      say();
      if (left <= 0) clearInterval(countdown);
    }, 1000);
  }

  async function signOut() {
    try {
      await postJson('/api/logout', {});
    } catch (err) {
      // Already gone on the server (expired, revoked): forgetting it here is all that is left.
      if (err.status !== 401) status.textContent = `${tr('退出失败', 'Sign-out failed')}: ${err.message}`;
    }
    forgetLogin();
    ctl.user = null;
    reloadKeepingCamera(getMap());
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    signIn(String(data.get('name') ?? ''), String(data.get('password') ?? ''));
  });
  logout.addEventListener('click', () => signOut());
  skip?.addEventListener('click', (e) => {
    e.preventDefault();
    (ctl.user ? logout : form.querySelector('#login-name')).focus();
  });

  ctl.ready = fetchMe().then((me) => { ctl.user = me.user ?? null; show(); }).catch((err) => {
    // A stale token (revoked, user disabled) makes every request 401: drop it and start public.
    if (err.status === 401) {
      forgetLogin();
      window.location.reload();
    }
    show();
  });
  show();
  return ctl;
}
