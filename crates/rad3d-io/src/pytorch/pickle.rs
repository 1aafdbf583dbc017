//! The subset of Python's pickle that `torch.save` writes, evaluated without executing
//! anything: the only callables are a fixed list of known constructors
//! (`OrderedDict`, `_rebuild_tensor_v2`, `_rebuild_parameter`) whose effect is modelled
//! here; every other global and every opcode outside the subset is refused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::tensor::{PtDType, TensorRef};

/// A value on the pickle machine's stack.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    None,
    // Booleans, floats and bytes never name or shape a tensor: only their kind is kept.
    Bool,
    Int(i64),
    Float,
    Str(String),
    Bytes,
    Tuple(Rc<Vec<Value>>),
    // Lists and dicts are shared and mutable: the memo hands out the same object that
    // later SETITEMS/APPENDS fill, as Python does.
    List(Rc<RefCell<Vec<Value>>>),
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    Mark,
    /// A global the machine knows how to call.
    Global(Known),
    /// `persistent_load` of `('storage', StorageType, key, location, numel)`.
    Storage {
        dtype: PtDType,
        key: String,
        numel: i64,
    },
    Tensor(Rc<TensorRef>),
}

/// The globals a torch.save pickle may name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Known {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    StorageType(PtDType),
}

fn known_global(module: &str, name: &str) -> Option<Known> {
    Some(match (module, name) {
        ("collections", "OrderedDict") => Known::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Known::RebuildTensorV2,
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
            Known::RebuildParameter
        }
        ("torch", storage) => Known::StorageType(PtDType::from_storage_name(storage)?),
        _ => return None,
    })
}

/// Why a pickle was refused, with the byte position it was refused at.
#[derive(Debug)]
pub(crate) struct PickleError {
    pub(crate) position: usize,
    pub(crate) reason: String,
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

type Step<T> = std::result::Result<T, String>;

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| "pickle ends inside an instruction".to_string())?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Step<u8> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Step<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn line(&mut self) -> Step<&'a str> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| "unterminated GLOBAL".to_string())?;
        let line = self.take(len + 1)?;
        std::str::from_utf8(&line[..len]).map_err(|_| "GLOBAL name is not UTF-8".to_string())
    }

    fn text(&mut self, len: usize) -> Step<Value> {
        let raw = self.take(len)?;
        let s = std::str::from_utf8(raw).map_err(|_| "string is not UTF-8".to_string())?;
        Ok(Value::Str(s.to_string()))
    }

    fn pop(&mut self) -> Step<Value> {
        self.stack
            .pop()
            .ok_or_else(|| "stack underflow".to_string())
    }

    fn top(&self) -> Step<&Value> {
        self.stack
            .last()
            .ok_or_else(|| "stack underflow".to_string())
    }

    /// The values above the topmost mark, which is removed.
    fn pop_mark(&mut self) -> Step<Vec<Value>> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or_else(|| "no MARK on the stack".to_string())?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn memo_get(&self, idx: u32) -> Step<Value> {
        self.memo
            .get(&idx)
            .cloned()
            .ok_or_else(|| format!("memo slot {idx} was never stored"))
    }

    fn memo_put(&mut self, idx: u32) -> Step<()> {
        let top = self.top()?.clone();
        self.memo.insert(idx, top);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Step<()> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of values".into());
        }
        let Value::Dict(dict) = self.top()? else {
            return Err("SETITEM(S) on something other than a dict".into());
        };
        let mut dict = dict.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            dict.push((k, v));
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Step<()> {
        let Value::List(list) = self.top()? else {
            return Err("APPEND(S) on something other than a list".into());
        };
        list.borrow_mut().extend(items);
        Ok(())
    }

    /// One instruction; `Ok(false)` at STOP.
    fn step(&mut self) -> Step<bool> {
        let op = self.u8()?;
        match op {
            0x80 => {
                let proto = self.u8()?;
                if !(2..=5).contains(&proto) {
                    return Err(format!("pickle protocol {proto}"));
                }
            }
            // FRAME (protocol 4+): only a length hint for buffered readers.
            0x95 => {
                self.take(8)?;
            }
            b'.' => return Ok(false),
            b'(' => self.stack.push(Value::Mark),
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool),
            0x89 => self.stack.push(Value::Bool),
            b'K' => {
                let v = self.u8()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.le()?);
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'J' => {
                let v = i32::from_le_bytes(self.le()?);
                self.stack.push(Value::Int(i64::from(v)));
            }
            0x8a => {
                let n = usize::from(self.u8()?);
                let raw = self.take(n)?;
                if n > 8 {
                    return Err(format!("LONG1 of {n} bytes does not fit in 64 bits"));
                }
                // Little-endian two's complement, sign-extended from its last byte.
                let fill = if raw.last().is_some_and(|b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut buf = [fill; 8];
                buf[..n].copy_from_slice(raw);
                self.stack.push(Value::Int(i64::from_le_bytes(buf)));
            }
            b'G' => {
                self.take(8)?;
                self.stack.push(Value::Float);
            }
            b'X' => {
                let n = u32::from_le_bytes(self.le()?) as usize;
                let v = self.text(n)?;
                self.stack.push(v);
            }
            0x8c => {
                let n = usize::from(self.u8()?);
                let v = self.text(n)?;
                self.stack.push(v);
            }
            b'C' => {
                let n = usize::from(self.u8()?);
                self.take(n)?;
                self.stack.push(Value::Bytes);
            }
            b'B' => {
                let n = u32::from_le_bytes(self.le()?) as usize;
                self.take(n)?;
                self.stack.push(Value::Bytes);
            }
            b'}' => self.stack.push(Value::Dict(Rc::default())),
            b']' => self.stack.push(Value::List(Rc::default())),
            b')' => self.stack.push(Value::Tuple(Rc::default())),
            b't' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Tuple(Rc::new(items)));
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::List(Rc::new(RefCell::new(items))));
            }
            b'd' => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Dict(Rc::default()));
                self.set_items(items)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if self.stack.len() < n {
                    return Err("stack underflow".into());
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.stack.push(Value::Tuple(Rc::new(items)));
            }
            b'q' => {
                let idx = self.u8()?;
                self.memo_put(u32::from(idx))?;
            }
            b'r' => {
                let idx = u32::from_le_bytes(self.le()?);
                self.memo_put(idx)?;
            }
            0x94 => {
                let idx = u32::try_from(self.memo.len()).map_err(|e| e.to_string())?;
                self.memo_put(idx)?;
            }
            b'h' => {
                let idx = self.u8()?;
                let v = self.memo_get(u32::from(idx))?;
                self.stack.push(v);
            }
            b'j' => {
                let idx = u32::from_le_bytes(self.le()?);
                let v = self.memo_get(idx)?;
                self.stack.push(v);
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![k, v])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            b'a' => {
                let v = self.pop()?;
                self.append(vec![v])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let known = known_global(module, name)
                    .ok_or_else(|| format!("refusing global {module}.{name}"))?;
                self.stack.push(Value::Global(known));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err("STACK_GLOBAL of non-strings".into());
                };
                let known = known_global(&module, &name)
                    .ok_or_else(|| format!("refusing global {module}.{name}"))?;
                self.stack.push(Value::Global(known));
            }
            b'Q' => {
                let pid = self.pop()?;
                let storage = persistent_storage(&pid)?;
                self.stack.push(storage);
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let v = reduce(callable, args)?;
                self.stack.push(v);
            }
            b'b' => {
                // BUILD sets attributes (OrderedDict's `_metadata`, a parameter's state):
                // nothing that changes tensor values, so the state is dropped.
                let _state = self.pop()?;
                match self.top()? {
                    Value::Dict(_) | Value::Tensor(_) => {}
                    other => return Err(format!("BUILD on {}", kind(other))),
                }
            }
            other => return Err(format!("unsupported pickle opcode 0x{other:02x}")),
        }
        Ok(true)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool => "bool",
        Value::Int(_) => "int",
        Value::Float => "float",
        Value::Str(_) => "str",
        Value::Bytes => "bytes",
        Value::Tuple(_) => "tuple",
        Value::List(_) => "list",
        Value::Dict(_) => "dict",
        Value::Mark => "MARK",
        Value::Global(_) => "global",
        Value::Storage { .. } => "storage",
        Value::Tensor(_) => "tensor",
    }
}

/// `('storage', StorageType, key, location, numel)`, the id torch.save gives a storage.
fn persistent_storage(pid: &Value) -> Step<Value> {
    let Value::Tuple(t) = pid else {
        return Err(format!("persistent id is a {}", kind(pid)));
    };
    match t.as_slice() {
        [
            Value::Str(tag),
            Value::Global(Known::StorageType(dtype)),
            Value::Str(key),
            _location,
            Value::Int(numel),
        ] if tag == "storage" => Ok(Value::Storage {
            dtype: *dtype,
            key: key.clone(),
            numel: *numel,
        }),
        _ => Err("persistent id is not ('storage', type, key, location, numel)".into()),
    }
}

fn ints(v: &Value, what: &str) -> Step<Vec<i64>> {
    let Value::Tuple(t) = v else {
        return Err(format!("{what} is a {}, not a tuple", kind(v)));
    };
    t.iter()
        .map(|x| match x {
            Value::Int(i) => Ok(*i),
            other => Err(format!("{what} holds a {}", kind(other))),
        })
        .collect()
}

/// Calls one of the known globals by modelling its effect.
fn reduce(callable: Value, args: Value) -> Step<Value> {
    let Value::Global(known) = callable else {
        return Err(format!("REDUCE on a {}", kind(&callable)));
    };
    let Value::Tuple(args) = args else {
        return Err("REDUCE arguments are not a tuple".into());
    };
    match known {
        Known::OrderedDict => match args.as_slice() {
            [] => Ok(Value::Dict(Rc::default())),
            _ => Err("OrderedDict called with arguments".into()),
        },
        Known::RebuildParameter => match args.first() {
            Some(t @ Value::Tensor(_)) => Ok(t.clone()),
            _ => Err("_rebuild_parameter without a tensor".into()),
        },
        Known::RebuildTensorV2 => {
            let [storage, Value::Int(offset), size, stride, ..] = args.as_slice() else {
                return Err("_rebuild_tensor_v2 with unexpected arguments".into());
            };
            let Value::Storage { dtype, key, numel } = storage else {
                return Err(format!("_rebuild_tensor_v2 of a {}", kind(storage)));
            };
            Ok(Value::Tensor(Rc::new(TensorRef {
                dtype: *dtype,
                key: key.clone(),
                storage_numel: *numel,
                offset: *offset,
                size: ints(size, "size")?,
                stride: ints(stride, "stride")?,
            })))
        }
        Known::StorageType(_) => Err("storage types are not called".into()),
    }
}

/// Evaluates a torch.save pickle into its top-level object.
pub(crate) fn load(bytes: &[u8]) -> std::result::Result<Value, PickleError> {
    let mut m = Machine {
        bytes,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
    };
    loop {
        let at = m.pos;
        match m.step() {
            Ok(true) => {}
            Ok(false) => break,
            Err(reason) => {
                return Err(PickleError {
                    position: at,
                    reason,
                });
            }
        }
    }
    m.pop().map_err(|reason| PickleError {
        position: m.pos,
        reason,
    })
}

/// Every tensor reachable through (nested) dicts, named by its keys joined with `.`
/// (`{"state_dict": {"w": t}}` gives `state_dict.w`); lists and other values are
/// skipped, as they hold no weights.
pub(crate) fn tensors(root: &Value) -> HashMap<String, TensorRef> {
    // Deep enough for any real wrapper; a dict that contains itself (the memo allows
    // it) stops here instead of recursing forever.
    const MAX_DEPTH: usize = 64;
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut HashMap<String, TensorRef>, depth: usize) {
        match v {
            Value::Tensor(t) => {
                out.insert(path.join("."), TensorRef::clone(t));
            }
            Value::Dict(d) if depth < MAX_DEPTH => {
                for (k, v) in d.borrow().iter() {
                    let key = match k {
                        Value::Str(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        _ => continue,
                    };
                    path.push(key);
                    walk(v, path, out, depth + 1);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = HashMap::new();
    walk(root, &mut Vec::new(), &mut out, 0);
    out
}
