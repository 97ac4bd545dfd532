//! Who writes: every change made through a store is attributed to a device and a user, whom a
//! document's `authors` map names per automerge actor.

/// Who is writing: every change made through the store is attributed to this device and user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub user_name: String,
}

impl DeviceIdentity {
    pub fn new(device_id: impl Into<String>, user_name: impl Into<String>) -> Self {
        Self {
            device_id: device_id.into(),
            user_name: user_name.into(),
        }
    }
}
