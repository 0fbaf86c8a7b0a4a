// Signing in and out. The form posts `{"name", "password", "session": true}` to /api/login;
// the server answers either with a cookie session and a CSRF value, or (older servers) with a
// bearer token: api.js keeps whichever it got. What a user may see changes the style and the
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

  const show = () => {
    const u = ctl.user;
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
      status.textContent = err.status === 401
        ? tr('用户名或密码错误', 'Wrong name or password')
        : `${tr('登录失败', 'Sign-in failed')}: ${err.message}`;
      return null;
    }
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
